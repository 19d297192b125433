package gossip

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is the source of time and timers for a Node. RealClock is the wall
// clock; SimClock is a discrete-event clock for simulations.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once, d from now, unless the returned timer is
	// stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending call scheduled by a Clock.
type Timer interface {
	// Stop cancels the call; it reports whether the call was still pending.
	Stop() bool
}

type realClock struct{}

// RealClock returns the wall clock, backed by package time.
func RealClock() Clock { return realClock{} }

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// SimClock is a discrete-event clock: time stands still until Run or Step
// advances it to the next scheduled event, and events at the same instant
// run in the order they were scheduled. Everything driven by one SimClock
// runs on the goroutine that calls Run, which makes a simulation
// deterministic for a given seed.
type SimClock struct {
	mu     sync.Mutex
	start  time.Time
	now    time.Duration // since start
	seq    uint64
	events eventHeap
	ran    uint64
}

// NewSimClock returns a SimClock that reads start until it is advanced.
func NewSimClock(start time.Time) *SimClock { return &SimClock{start: start} }

// Now returns the simulated time.
func (c *SimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(c.now)
}

// AfterFunc schedules f at d after the simulated now.
func (c *SimClock) AfterFunc(d time.Duration, f func()) Timer {
	if d < 0 {
		d = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	ev := &simEvent{at: c.now + d, seq: c.seq, f: f, clock: c}
	heap.Push(&c.events, ev)
	return ev
}

// Step runs the next event if there is one due no later than until, advancing
// the clock to it; it reports whether an event ran.
func (c *SimClock) Step(until time.Time) bool {
	c.mu.Lock()
	lim := until.Sub(c.start)
	for {
		if len(c.events) == 0 {
			c.mu.Unlock()
			return false
		}
		ev := c.events[0]
		if ev.at > lim {
			c.mu.Unlock()
			return false
		}
		heap.Pop(&c.events)
		if ev.stopped {
			continue
		}
		ev.fired = true
		c.now = ev.at
		c.ran++
		c.mu.Unlock()
		ev.f()
		return true
	}
}

// Run runs every event due up to until and then sets the clock to until.
func (c *SimClock) Run(until time.Time) {
	for c.Step(until) {
	}
	c.mu.Lock()
	if lim := until.Sub(c.start); lim > c.now {
		c.now = lim
	}
	c.mu.Unlock()
}

// RunFor runs the simulation for d of simulated time.
func (c *SimClock) RunFor(d time.Duration) { c.Run(c.Now().Add(d)) }

// Pending returns the number of scheduled events, stopped ones included
// until they reach the front of the queue.
func (c *SimClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// Events returns the number of events run so far.
func (c *SimClock) Events() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ran
}

type simEvent struct {
	at      time.Duration
	seq     uint64
	f       func()
	clock   *SimClock
	index   int
	stopped bool
	fired   bool
}

func (e *simEvent) Stop() bool {
	e.clock.mu.Lock()
	defer e.clock.mu.Unlock()
	if e.stopped || e.fired {
		return false
	}
	e.stopped = true
	e.f = nil
	return true
}

type eventHeap []*simEvent

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *eventHeap) Push(x any)   { e := x.(*simEvent); e.index = len(*h); *h = append(*h, e) }
func (h *eventHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return e
}
