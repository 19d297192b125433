package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestHistogramIndexRoundTrip(t *testing.T) {
	// Every counter's range is contiguous with the next and holds the
	// values that map to it.
	for i := 0; i < histLen-1; i++ {
		lo, hi := lowest(i), highest(i)
		if index(lo) != i || index(hi) != i {
			t.Fatalf("counter %d holds [%d, %d], which map to %d and %d", i, lo, hi, index(lo), index(hi))
		}
		if lowest(i+1) != hi+1 {
			t.Fatalf("counter %d ends at %d, counter %d starts at %d", i, hi, i+1, lowest(i+1))
		}
		// Three significant digits: the width is at most 1/1024 of the value.
		if lo >= subCount && float64(hi-lo+1) > float64(lo)/1024 {
			t.Fatalf("counter %d: width %d is too coarse for %d", i, hi-lo+1, lo)
		}
	}
	if got := index(uint64(MaxTrackable)); got != histLen-1 {
		t.Fatalf("MaxTrackable maps to %d, want the last counter %d", got, histLen-1)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := NewHistogram()
	var vals []time.Duration
	for range 100000 {
		// Log-uniform between 1 µs and 10 s.
		v := time.Duration(math.Exp(rng.Float64()*math.Log(1e7)) * 1e3)
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	if h.Count() != uint64(len(vals)) || h.Min() != vals[0] || h.Max() != vals[len(vals)-1] {
		t.Fatalf("count %d min %v max %v, want %d %v %v", h.Count(), h.Min(), h.Max(), len(vals), vals[0], vals[len(vals)-1])
	}
	var sum time.Duration
	for _, v := range vals {
		sum += v
	}
	if h.Mean() != sum/time.Duration(len(vals)) {
		t.Fatalf("mean %v, want %v", h.Mean(), sum/time.Duration(len(vals)))
	}
	for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1} {
		rank := max(int(math.Ceil(q*float64(len(vals)))), 1)
		want := vals[rank-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/1000 {
			t.Errorf("q%g = %v, want %v (within 0.1%% above)", q, got, want)
		}
	}
}

func TestHistogramMergeAndConcurrentRecord(t *testing.T) {
	parts := make([]*Histogram, 4)
	all := NewHistogram()
	var wg sync.WaitGroup
	for i := range parts {
		parts[i] = NewHistogram()
		wg.Go(func() {
			for j := range 10000 {
				d := time.Duration((i+1)*1000 + j)
				parts[i].Record(d)
				all.Record(d)
			}
		})
	}
	wg.Wait()
	merged := NewHistogram()
	for _, p := range parts {
		merged.Merge(p)
	}
	if merged.Count() != all.Count() || merged.Min() != all.Min() || merged.Max() != all.Max() || merged.Mean() != all.Mean() {
		t.Fatalf("merged %d %v %v %v, recorded together %d %v %v %v", merged.Count(), merged.Min(), merged.Max(), merged.Mean(), all.Count(), all.Min(), all.Max(), all.Mean())
	}
	for i := range merged.counts {
		if merged.counts[i].Load() != all.counts[i].Load() {
			t.Fatalf("counter %d: merged %d, together %d", i, merged.counts[i].Load(), all.counts[i].Load())
		}
	}
	if merged.Min() != 1000 || merged.Max() != 4000+9999 {
		t.Fatalf("min %v max %v", merged.Min(), merged.Max())
	}
}

func TestHistogramEdges(t *testing.T) {
	h := NewHistogram()
	if h.Quantile(0.5) != 0 || h.Min() != 0 || h.Mean() != 0 || h.Buckets(10) != nil {
		t.Fatal("an empty histogram reports values")
	}
	h.Record(-5)
	h.Record(3 * time.Hour)
	if h.Min() != 0 || h.Max() != MaxTrackable || h.Overflow() != 1 {
		t.Fatalf("min %v max %v overflow %d", h.Min(), h.Max(), h.Overflow())
	}
	h.Reset()
	if h.Count() != 0 || h.Max() != 0 {
		t.Fatal("Reset left values")
	}
	for i := range 1000 {
		h.Record(time.Duration(i+1) * time.Microsecond)
	}
	var total uint64
	bs := h.Buckets(10)
	for i, b := range bs {
		total += b.Count
		if i > 0 && b.Low < bs[i-1].High-1 {
			t.Fatalf("bucket %d starts at %v before %v", i, b.Low, bs[i-1].High)
		}
	}
	if total != 1000 || bs[0].Low != time.Microsecond || bs[len(bs)-1].High != time.Millisecond {
		t.Fatalf("buckets hold %d, span %v..%v", total, bs[0].Low, bs[len(bs)-1].High)
	}
}

func TestScheduleAt(t *testing.T) {
	cases := []Schedule{
		{Kind: Const, Start: 250},
		{Kind: Step, Start: 100, Step: 50, StepDuration: time.Second, End: 300},
		{Kind: Step, Start: 400, Step: -100, StepDuration: 500 * time.Millisecond, End: 100},
		{Kind: Line, Start: 10, Step: 20, End: 90},
		{Kind: Line, Start: 10, Step: 20, MaxDuration: 2 * time.Second},
	}
	for _, s := range cases {
		if err := s.check("rate"); err != nil {
			t.Fatal(err)
		}
		// Count the calls due in each 10 ms by integrating Value, and
		// compare with what At and Slots say.
		var due float64
		for ms := 0; ms < 6000; ms += 10 {
			at := time.Duration(ms) * time.Millisecond
			due += s.Value(at) * 0.01
			next := at + 10*time.Millisecond
			if got := float64(s.Slots(next)); math.Abs(got-due) > 1.5 {
				t.Fatalf("%+v: %d calls due by %v, want about %.1f", s, s.Slots(next), next, due)
			}
		}
		var prev time.Duration
		for k := uint64(0); k < 300; k++ {
			at := s.At(k)
			if at < prev {
				t.Fatalf("%+v: call %d due at %v before call %d at %v", s, k, at, k-1, prev)
			}
			prev = at
			if n := s.Slots(at + time.Microsecond); n < k+1 {
				t.Fatalf("%+v: call %d due at %v, but only %d due by then", s, k, at, n)
			}
		}
	}
	bad := []Schedule{{Kind: Const}, {Kind: Step, Start: 1, Step: 1}, {Kind: Line, Start: 5, Step: -1}, {Kind: Line, Start: 1}}
	for _, s := range bad {
		if s.check("rate") == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
