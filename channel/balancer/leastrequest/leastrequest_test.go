package leastrequest

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/h2rpc/h2rpc/channel/balancer"
	tu "github.com/h2rpc/h2rpc/channel/balancer/internal/testutils"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

func TestRegistered(t *testing.T) {
	bb := balancer.Get("least_request_experimental")
	if bb == nil || bb.Name() != Name {
		t.Fatalf("balancer.Get(least_request_experimental) = %v", bb)
	}
	if _, ok := bb.(balancer.ConfigParser); !ok {
		t.Fatal("the builder parses no config")
	}
}

func TestParseConfig(t *testing.T) {
	for _, c := range []struct {
		js   string
		want uint32 // 0: an error
	}{
		{`{}`, 2},
		{`null`, 2},
		{`{"choiceCount": 2}`, 2},
		{`{"choiceCount": 3}`, 3},
		{`{"choiceCount": 10}`, 10},
		{`{"choiceCount": 11}`, 10},
		{`{"choiceCount": 4294967295}`, 10},
		{`{"otherField": 1}`, 2},
		{`{"choiceCount": 1}`, 0},
		{`{"choiceCount": 0}`, 0},
		{`{"choiceCount": -3}`, 0},
		{`{"choiceCount": 4294967296}`, 0},
		{`{"choiceCount": 2.5}`, 0},
		{`{"choiceCount": "3"}`, 0},
		{`{"choiceCount": null}`, 2},
		{`[]`, 0},
		{`{`, 0},
		{``, 0},
	} {
		cfg, err := builder{}.ParseConfig(json.RawMessage(c.js))
		switch {
		case c.want == 0 && err == nil:
			t.Errorf("ParseConfig(%s) = %+v, want an error", c.js, cfg)
		case c.want != 0 && err != nil:
			t.Errorf("ParseConfig(%s): %v", c.js, err)
		case c.want != 0 && cfg.(*LBConfig).ChoiceCount != c.want:
			t.Errorf("ParseConfig(%s): choiceCount %d, want %d", c.js, cfg.(*LBConfig).ChoiceCount, c.want)
		}
	}
}

// build returns the policy over addrs, all READY, with choiceCount n.
func build(t testing.TB, n uint32, addrs ...string) (*tu.ClientConn, *lrBalancer) {
	t.Helper()
	cc := tu.NewClientConn(t)
	b := builder{}.Build(cc, balancer.BuildOptions{}).(*lrBalancer)
	if err := b.UpdateClientConnState(tu.State(&LBConfig{ChoiceCount: n}, addrs...)); err != nil {
		t.Fatal(err)
	}
	cc.Up(addrs...)
	return cc, b
}

func inFlight(b *lrBalancer, cc *tu.ClientConn, addr string) int64 {
	return b.counts[cc.SubConn(addr)].inFlight.Load()
}

func TestCountsCallsInFlight(t *testing.T) {
	leakcheck.Check(t)
	cc, b := build(t, 2, "a")
	defer b.Close()
	var dones []func(balancer.DoneInfo)
	for range 5 {
		r, err := cc.Picker().Pick(balancer.PickInfo{})
		if err != nil || r.Done == nil {
			t.Fatalf("Pick = %+v, %v; want a result with Done", r, err)
		}
		dones = append(dones, r.Done)
	}
	if got := inFlight(b, cc, "a"); got != 5 {
		t.Fatalf("%d calls in flight, want 5", got)
	}
	// A new picker (b joins) keeps a's count.
	if err := b.UpdateClientConnState(tu.State(nil, "a", "b")); err != nil {
		t.Fatal(err)
	}
	cc.Up("b")
	if got := inFlight(b, cc, "a"); got != 5 {
		t.Fatalf("after a new picker, %d calls in flight on a, want 5", got)
	}
	for _, d := range dones {
		d(balancer.DoneInfo{Err: errors.New("any outcome")})
	}
	if got := inFlight(b, cc, "a"); got != 0 {
		t.Fatalf("after Done, %d calls in flight, want 0", got)
	}
}

// share picks n times, ending each call at once, and returns the share of
// picks that went to addr.
func share(t *testing.T, cc *tu.ClientConn, addr string, n int) float64 {
	t.Helper()
	return float64(tu.Count(t, cc.Picker(), n)[cc.SubConn(addr)]) / float64(n)
}

// TestPrefersFewerCalls quantifies the choice: with two READY subchannels
// and a holding more calls, a pick goes to a only when every draw is a,
// with probability 2^-choiceCount; with equal counts the first draw wins,
// an even split. The bounds are more than 8 standard deviations wide.
func TestPrefersFewerCalls(t *testing.T) {
	const n = 40000
	for _, c := range []struct {
		choiceCount uint32
		held        int // calls held on a
		want, tol   float64
	}{
		{2, 0, 0.5, 0.025},
		{2, 3, 0.25, 0.02},
		{3, 1, 0.125, 0.015},
		{10, 2, 1.0 / 1024, 0.0025},
	} {
		cc, b := build(t, c.choiceCount, "a", "b")
		a := cc.SubConn("a")
		for held := 0; held < c.held; {
			r, err := cc.Picker().Pick(balancer.PickInfo{})
			if err != nil {
				t.Fatal(err)
			}
			if r.SubConn == a {
				held++ // kept in flight
			} else {
				r.Done(balancer.DoneInfo{})
			}
		}
		if got := share(t, cc, "a", n); got < c.want-c.tol || got > c.want+c.tol {
			t.Errorf("choiceCount %d, %d calls held on a: a got %.4f of the picks, want %.4f ± %.4f", c.choiceCount, c.held, got, c.want, c.tol)
		}
		b.Close()
	}
}

func TestConfig(t *testing.T) {
	cc, b := build(t, 11, "a")
	defer b.Close()
	if p := cc.Picker().(*picker); p.choiceCount != maxChoiceCount {
		t.Fatalf("choiceCount %d, want it clamped to %d", p.choiceCount, maxChoiceCount)
	}
	if err := b.UpdateClientConnState(tu.State(&LBConfig{ChoiceCount: 5}, "a")); err != nil {
		t.Fatal(err)
	}
	if p := cc.Picker().(*picker); p.choiceCount != 5 {
		t.Fatalf("after a new config, choiceCount %d, want 5", p.choiceCount)
	}
	type other struct {
		serviceconfig.LoadBalancingConfig
	}
	if err := b.UpdateClientConnState(tu.State(other{}, "a")); !errors.Is(err, balancer.ErrBadResolverState) {
		t.Fatalf("a foreign config: %v, want ErrBadResolverState", err)
	}
}

func TestStates(t *testing.T) {
	cc := tu.NewClientConn(t)
	b := builder{}.Build(cc, balancer.BuildOptions{})
	defer b.Close()
	if err := b.UpdateClientConnState(tu.State(nil, "a")); err != nil {
		t.Fatal(err)
	}
	a := cc.SubConn("a")
	a.ConnectAndFail(errors.New("refused"))
	a.Idle()
	a.Connecting()
	a.Ready()
	tu.Is(t, "least_request", cc.TakeStates(), []connectivity.State{connectivity.Connecting, connectivity.TransientFailure, connectivity.Ready})
}

func TestPickDoesNotAllocate(t *testing.T) {
	cc, b := build(t, 2, "a", "b", "c")
	defer b.Close()
	p := cc.Picker()
	if n := testing.AllocsPerRun(1000, func() {
		r, _ := p.Pick(balancer.PickInfo{})
		r.Done(balancer.DoneInfo{})
	}); n != 0 {
		t.Fatalf("Pick and Done allocate %v times", n)
	}
}

// TestConcurrentPicks hammers the pickers while the READY set changes;
// once every call has ended, no count is left over.
func TestConcurrentPicks(t *testing.T) {
	leakcheck.Check(t)
	cc, b := build(t, 2, "a", "b", "c")
	defer b.Close()
	all := []string{"a", "b", "c"}
	stop := tu.RunPickers(cc, 4)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		cc.SubConn(all[rng.IntN(len(all))]).Step(rng)
	}
	if n, err := stop(); n == 0 || err != nil {
		t.Fatalf("%d picks: %v", n, err)
	}
	for sc, c := range b.counts {
		if v := c.inFlight.Load(); v != 0 {
			t.Errorf("%v: %d calls in flight after every call ended", sc, v)
		}
	}
}

// BenchmarkPick measures a READY pick (0 allocs/op).
func BenchmarkPick(b *testing.B) {
	cc, bal := build(b, 2, "a", "b", "c", "d")
	defer bal.Close()
	tu.BenchmarkPick(b, cc.Picker())
}

// FuzzParseConfig checks that any input gives an error or a choiceCount
// within bounds, never a panic.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{`{}`, `{"choiceCount": 3}`, `{"choiceCount": -1}`, `{"choiceCount": 1e99}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		cfg, err := builder{}.ParseConfig(js)
		if err != nil {
			return
		}
		if n := cfg.(*LBConfig).ChoiceCount; n < minChoiceCount || n > maxChoiceCount {
			t.Fatalf("ParseConfig(%q): choiceCount %d out of [%d, %d]", js, n, minChoiceCount, maxChoiceCount)
		}
	})
}
