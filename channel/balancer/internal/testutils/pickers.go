package testutils

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/h2rpc/h2rpc/channel/balancer"
)

// RunPickers starts n goroutines that pick from cc's current picker in a
// loop, handing each result to check (which must be safe for concurrent
// use) and calling Done on it, until the returned stop is called; stop
// waits for them and returns how many picks they made.
func RunPickers(cc *ClientConn, n int, check func(balancer.PickResult, error)) (stop func() int64) {
	var (
		quit  atomic.Bool
		picks atomic.Int64
		wg    sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			info := balancer.PickInfo{FullMethodName: "/s/m"}
			for !quit.Load() {
				p := cc.Picker()
				if p == nil {
					continue
				}
				r, err := p.Pick(info)
				check(r, err)
				if err == nil && r.Done != nil {
					r.Done(balancer.DoneInfo{})
				}
				picks.Add(1)
			}
		})
	}
	return func() int64 {
		quit.Store(true)
		wg.Wait()
		return picks.Load()
	}
}

// BenchmarkPick measures picks from p, ending each call at once, from one
// goroutine and from GOMAXPROCS of them sharing p, reporting allocations.
func BenchmarkPick(b *testing.B, p balancer.Picker) {
	info := balancer.PickInfo{FullMethodName: "/s/m"}
	pick := func() {
		r, err := p.Pick(info)
		if err != nil {
			b.Fatal(err)
		}
		if r.Done != nil {
			r.Done(balancer.DoneInfo{})
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			pick()
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				pick()
			}
		})
	})
}
