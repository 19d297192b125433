package bench

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram records durations with three significant decimal digits
// (HdrHistogram's layout: for each power of two, 1024 linear sub-buckets),
// from 1 ns up to MaxTrackable, in constant memory whatever the number of
// values. Longer values are recorded as MaxTrackable and counted in
// Overflow. Record may be called from many goroutines at once (each count
// is one atomic add); Merge, Quantile and the other readers see a
// consistent picture once the writers have stopped, and an approximate
// one while they run.
type Histogram struct {
	counts   [histLen]atomic.Uint64
	total    atomic.Uint64
	sum      atomic.Uint64 // nanoseconds
	min      atomic.Int64  // nanoseconds, math.MaxInt64 when empty
	max      atomic.Int64
	overflow atomic.Uint64
}

const (
	// subBits sets the precision: 2^subBits sub-buckets in the first
	// bucket, half of them in each following one, so every value is
	// within 1/1024 of its bucket's lower bound.
	subBits   = 11
	subCount  = 1 << subBits
	subHalf   = subCount / 2
	trackBits = 43 // 2^43 ns ≈ 2.4 h
	histLen   = (trackBits - subBits + 2) * subHalf
)

// MaxTrackable is the longest duration a Histogram tells apart.
const MaxTrackable = time.Duration(1<<trackBits - 1)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	h := new(Histogram)
	h.min.Store(math.MaxInt64)
	return h
}

// index maps a value (0 ≤ v < 2^trackBits) to its counter.
func index(v uint64) int {
	// Bucket b holds values whose highest set bit is b+subBits-1 (bucket
	// 0 also holds everything below subCount); within it, sub-bucket s is
	// v >> b.
	b := bits.Len64(v|(subCount-1)) - subBits
	s := int(v >> uint(b))
	return b*subHalf + s
}

// lowest returns the smallest value recorded in counter i.
func lowest(i int) uint64 {
	b := i/subHalf - 1
	s := i%subHalf + subHalf
	if b < 0 {
		b, s = 0, i
	}
	return uint64(s) << uint(b)
}

// highest returns the largest value recorded in counter i.
func highest(i int) uint64 {
	b := max(i/subHalf-1, 0)
	return lowest(i) + (1 << uint(b)) - 1
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	if v > int64(MaxTrackable) {
		h.overflow.Add(1)
		v = int64(MaxTrackable)
	}
	h.counts[index(uint64(v))].Add(1)
	h.total.Add(1)
	h.sum.Add(uint64(v))
	h.recordExtremes(v, v)
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if n := o.counts[i].Load(); n > 0 {
			h.counts[i].Add(n)
		}
	}
	h.total.Add(o.total.Load())
	h.sum.Add(o.sum.Load())
	h.overflow.Add(o.overflow.Load())
	if o.total.Load() > 0 {
		h.recordExtremes(o.min.Load(), o.max.Load())
	}
}

func (h *Histogram) recordExtremes(lo, hi int64) {
	for {
		m := h.min.Load()
		if lo >= m || h.min.CompareAndSwap(m, lo) {
			break
		}
	}
	storeMax(&h.max, hi)
}

// storeMax raises a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		m := a.Load()
		if v <= m || a.CompareAndSwap(m, v) {
			return
		}
	}
}

// Reset empties h.
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.total.Store(0)
	h.sum.Store(0)
	h.overflow.Store(0)
	h.min.Store(math.MaxInt64)
	h.max.Store(0)
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Overflow returns how many values were longer than MaxTrackable.
func (h *Histogram) Overflow() uint64 { return h.overflow.Load() }

// Min returns the shortest value recorded (exactly), 0 when empty.
func (h *Histogram) Min() time.Duration {
	if h.total.Load() == 0 {
		return 0
	}
	return time.Duration(h.min.Load())
}

// Max returns the longest value recorded (exactly).
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean returns the average of the values recorded (exactly).
func (h *Histogram) Mean() time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns the value below which a fraction q (0 ≤ q ≤ 1) of the
// recorded values lie: the highest value of the counter that holds the
// ⌈q·n⌉-th smallest value, so within 0.1 % of the true figure, and never
// above Max.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.total.Load()
	if n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := max(uint64(math.Ceil(q*float64(n))), 1)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(highest(i)), h.Max())
		}
	}
	return h.Max()
}

// Bucket is one range of a histogram's distribution.
type Bucket struct {
	// Low and High bound the values counted (both included).
	Low, High time.Duration
	Count     uint64
}

// Buckets returns the distribution in n ranges of equal width on a
// logarithmic scale between Min and Max (fewer when they are close), for
// charts: counts are exact, boundaries rounded to the histogram's
// precision.
func (h *Histogram) Buckets(n int) []Bucket {
	if h.total.Load() == 0 || n <= 0 {
		return nil
	}
	lo, hi := float64(max(h.Min(), 1)), float64(max(h.Max(), 1))
	if hi <= lo {
		return []Bucket{{Low: h.Min(), High: h.Max(), Count: h.total.Load()}}
	}
	step := math.Pow(hi/lo, 1/float64(n))
	out := make([]Bucket, n)
	for i := range out {
		out[i].Low = time.Duration(lo * math.Pow(step, float64(i)))
		out[i].High = time.Duration(lo * math.Pow(step, float64(i+1)))
	}
	out[0].Low = h.Min()
	out[n-1].High = h.Max()
	for i := range h.counts {
		c := h.counts[i].Load()
		if c == 0 {
			continue
		}
		v := float64(max(lowest(i), 1))
		j := 0
		if v > lo {
			j = min(int(math.Log(v/lo)/math.Log(step)), n-1)
		}
		out[j].Count += c
	}
	return out
}
