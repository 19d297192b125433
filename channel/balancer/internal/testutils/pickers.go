package testutils

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/connectivity"
)

// RunPickers starts n goroutines that pick from cc's current picker in a
// loop, calling Done on each result, until the returned stop is called;
// stop waits for them and returns how many picks they made and the first
// bad one: a pick must give one of cc's SubConns or an error, not both or
// neither.
func RunPickers(cc *ClientConn, n int) (stop func() (int64, error)) {
	var (
		quit  atomic.Bool
		picks atomic.Int64
		wg    sync.WaitGroup
		bad   atomic.Pointer[error]
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
				if sc, ok := r.SubConn.(*SubConn); (err == nil) != ok || (ok && sc.cc != cc) {
					e := fmt.Errorf("pick gave %v, %v", r.SubConn, err)
					bad.CompareAndSwap(nil, &e)
				}
				if err == nil && r.Done != nil {
					r.Done(balancer.DoneInfo{})
				}
				// Let the goroutine driving the balancer run on a small
				// machine.
				if picks.Add(1)%64 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	return func() (int64, error) {
		quit.Store(true)
		wg.Wait()
		if e := bad.Load(); e != nil {
			return picks.Load(), *e
		}
		return picks.Load(), nil
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

// Step makes one random legal transition of sc, as a channel might: a
// requested connection starts, an attempt succeeds or fails, a connection
// is lost or a backoff ends (each of the last two one time in three). It
// does nothing to a SubConn that is shut down or IDLE without a request.
func (sc *SubConn) Step(rng *rand.Rand) {
	sc.cc.t.Helper()
	switch sc.State() {
	case connectivity.Idle:
		if sc.ConnectPending() {
			sc.Connecting()
		}
	case connectivity.Connecting:
		if rng.IntN(2) == 0 {
			sc.Ready()
		} else {
			sc.Fail(errors.New("connection refused"))
		}
	case connectivity.Ready, connectivity.TransientFailure:
		if rng.IntN(3) == 0 {
			sc.Idle()
		}
	}
}
