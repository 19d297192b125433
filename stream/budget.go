package stream

import (
	"sync/atomic"
	"time"
)

// Budget is a number of bytes shared by several connections, such as the
// bytes a server's blocked writers may hold in all. It is safe for
// concurrent use.
type Budget struct {
	limit int64
	used  atomic.Int64
}

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

// Used reports the bytes currently taken.
func (b *Budget) Used() int64 { return b.used.Load() }

// take reserves n bytes, or reports that they would exceed the limit.
func (b *Budget) take(n int64) bool {
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

func (b *Budget) give(n int64) { b.used.Add(-n) }

// overhead scores what a peer makes a connection do without progress
// (Config.OverheadBudget): a leaky bucket that drains with time and with
// finished streams. Guarded by the connection's mutex.
type overhead struct {
	score  float64
	last   time.Time
	budget float64 // 0: off
}

// add counts n frames of overhead at now and reports whether the budget
// is exceeded.
func (o *overhead) add(now time.Time, n float64) bool {
	if o.budget == 0 {
		return false
	}
	if !o.last.IsZero() {
		// The allowance refills by a tenth of the budget per second.
		o.score = max(0, o.score-now.Sub(o.last).Seconds()*o.budget/10)
	}
	o.last = now
	o.score += n
	return o.score > o.budget
}

// credit counts one stream finished: real work, which earns back one
// frame of overhead.
func (o *overhead) credit() { o.score = max(0, o.score-1) }
