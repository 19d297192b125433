package roundrobin_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/channel/balancer"
	tu "github.com/h2rpc/h2rpc/channel/balancer/internal/testutils"
	"github.com/h2rpc/h2rpc/channel/balancer/roundrobin"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

// readyBalancer builds round_robin over addrs, all READY.
func readyBalancer(t testing.TB, addrs ...string) (*tu.ClientConn, balancer.Balancer) {
	t.Helper()
	cc := tu.NewClientConn(t)
	b := balancer.Get(roundrobin.Name).Build(cc, balancer.BuildOptions{})
	if err := b.UpdateClientConnState(tu.State(nil, addrs...)); err != nil {
		t.Fatal(err)
	}
	cc.Up(addrs...)
	return cc, b
}

func TestRegistered(t *testing.T) {
	bb := balancer.Get("round_robin")
	if bb == nil || bb.Name() != roundrobin.Name {
		t.Fatalf("balancer.Get(round_robin) = %v", bb)
	}
}

func TestPicksInTurn(t *testing.T) {
	leakcheck.Check(t)
	cc, b := readyBalancer(t, "a", "b", "c")
	defer b.Close()
	p := cc.Picker()
	// Picks cycle through the READY set in address order, from wherever
	// the picker started.
	var seq []string
	for range 7 {
		r, err := p.Pick(balancer.PickInfo{})
		if err != nil {
			t.Fatal(err)
		}
		seq = append(seq, r.SubConn.(*tu.SubConn).Addr.Addr)
	}
	start := strings.Index("abc", seq[0])
	for i, got := range seq {
		if want := "abc"[(start+i)%3 : (start+i)%3+1]; got != want {
			t.Fatalf("picks %v are not in turn", seq)
		}
	}
	// Exactly even over a whole number of turns, from a fresh picker and
	// from this one.
	for _, n := range []int{3 * 1000, 3 * 1001} {
		for sc, got := range tu.Count(t, cc.Picker(), n) {
			if got != n/3 {
				t.Fatalf("%v got %d of %d picks, want %d", sc, got, n, n/3)
			}
		}
	}
}

func TestStartsAtRandom(t *testing.T) {
	cc, b := readyBalancer(t, "a", "b", "c", "d")
	defer b.Close()
	firsts := map[balancer.SubConn]int{}
	for range 200 {
		b.UpdateClientConnState(tu.State(nil, "a", "b", "c", "d")) // a new picker
		r, err := cc.Picker().Pick(balancer.PickInfo{})
		if err != nil {
			t.Fatal(err)
		}
		firsts[r.SubConn]++
	}
	// Each of 4 starts has 1-(3/4)^200 > 1-10^-24 chance to be seen.
	if len(firsts) != 4 {
		t.Fatalf("200 pickers started on only %d of 4 subchannels: %v", len(firsts), firsts)
	}
}

func TestPickDoesNotAllocate(t *testing.T) {
	cc, b := readyBalancer(t, "a", "b")
	defer b.Close()
	p := cc.Picker()
	if n := testing.AllocsPerRun(1000, func() { p.Pick(balancer.PickInfo{}) }); n != 0 {
		t.Fatalf("Pick allocates %v times", n)
	}
}

func TestStates(t *testing.T) {
	cc := tu.NewClientConn(t)
	b := balancer.Get(roundrobin.Name).Build(cc, balancer.BuildOptions{})
	defer b.Close()
	if err := b.UpdateClientConnState(tu.State(nil, "a", "b")); err != nil {
		t.Fatal(err)
	}
	a, bb := cc.SubConn("a"), cc.SubConn("b")
	a.ConnectAndFail(errors.New("refused"))
	bb.ConnectAndFail(errors.New("refused"))
	a.Idle()
	a.Connecting()
	a.Ready()
	a.Idle()
	tu.Is(t, "round_robin", cc.TakeStates(), []connectivity.State{connectivity.Connecting, connectivity.TransientFailure, connectivity.Ready, connectivity.Connecting})
}

// TestConcurrentPicks hammers the pickers from several goroutines while
// the balancer changes its READY set and address list, under the race
// detector.
func TestConcurrentPicks(t *testing.T) {
	leakcheck.Check(t)
	cc, b := readyBalancer(t, "a", "b", "c")
	defer b.Close()
	stop := tu.RunPickers(cc, 4)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var addrs []string
		for _, a := range []string{"a", "b", "c", "d"} {
			if rng.IntN(3) > 0 {
				addrs = append(addrs, a)
			}
		}
		if err := b.UpdateClientConnState(tu.State(nil, addrs...)); err != nil && len(addrs) > 0 {
			t.Fatal(err)
		}
		for _, a := range addrs {
			cc.SubConn(a).Step(rng)
		}
	}
	if n, err := stop(); n == 0 || err != nil {
		t.Fatalf("%d picks: %v", n, err)
	}
}

// BenchmarkPick measures a READY pick (0 allocs/op).
func BenchmarkPick(b *testing.B) {
	cc, bal := readyBalancer(b, "a", "b", "c", "d")
	defer bal.Close()
	tu.BenchmarkPick(b, cc.Picker())
}
