package loadaware

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	tu "github.com/h2rpc/h2rpc/channel/balancer/internal/testutils"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

// fakeClock is the balancer's clock in these tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func build(t *testing.T) (*tu.ClientConn, *lbBalancer, *fakeClock) {
	leakcheck.Check(t)
	cc := tu.NewClientConn(t)
	b := builder{}.Build(cc, balancer.BuildOptions{}).(*lbBalancer)
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	b.now = clk.now
	t.Cleanup(b.Close)
	return cc, b, clk
}

// state lists a, b, c with the reports given (a nil report: none).
func state(reports ...*Report) balancer.ClientConnState {
	var s resolver.State
	for i, r := range reports {
		a := resolver.Address{Addr: string(rune('a' + i))}
		if r != nil {
			a = SetLoad(a, *r)
		}
		s.Addresses = append(s.Addresses, a)
	}
	return balancer.ClientConnState{ResolverState: s}
}

func near(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-6*math.Max(1, want[i]) {
			return false
		}
	}
	return true
}

// TestWeightsFollowA58: weights are QPS over utilisation once the
// blackout has passed, the mean for a server without a report, all equal
// before the blackout ends and again once reports expire; picks follow
// the weights.
func TestWeightsFollowA58(t *testing.T) {
	cc, b, clk := build(t)
	t0 := clk.t
	reps := []*Report{{QPS: 100, Utilization: 0.1, At: t0}, {QPS: 100, Utilization: 0.5, At: t0}, nil}
	if err := b.UpdateClientConnState(state(reps...)); err != nil {
		t.Fatal(err)
	}
	cc.Up("a", "b", "c")
	p := cc.Picker()
	if w := weightsOf(p, clk.t); !near(w, []float64{1, 1, 1}) {
		t.Fatalf("weights in the blackout: %v, want all equal", w)
	}
	clk.t = t0.Add(11 * time.Second)
	if w := weightsOf(p, clk.t); !near(w, []float64{1000, 200, 600}) {
		t.Fatalf("weights after the blackout: %v, want 1000, 200 and the mean 600", w)
	}
	got := tu.Count(t, p, 18000)
	counts := []int{got[cc.SubConn("a")], got[cc.SubConn("b")], got[cc.SubConn("c")]}
	for i, want := range []int{10000, 2000, 6000} {
		if math.Abs(float64(counts[i]-want)) > 0.05*float64(want)+100 {
			t.Fatalf("picks %v, want about 10000, 2000, 6000", counts)
		}
	}
	clk.t = t0.Add(4 * time.Minute)
	if w := weightsOf(p, clk.t); !near(w, []float64{1, 1, 1}) {
		t.Fatalf("weights after expiry: %v, want all equal", w)
	}
	// A fresh report after expiry sits out a new blackout.
	reps[0] = &Report{QPS: 100, Utilization: 0.1, At: clk.t}
	reps[1] = &Report{QPS: 100, Utilization: 0.5, At: clk.t}
	if err := b.UpdateClientConnState(state(reps...)); err != nil {
		t.Fatal(err)
	}
	if w := weightsOf(cc.Picker(), clk.t.Add(5*time.Second)); !near(w, []float64{1, 1, 1}) {
		t.Fatalf("weights 5 s after reports resumed: %v, want all equal (a new blackout)", w)
	}
	if w := weightsOf(cc.Picker(), clk.t.Add(11*time.Second)); !near(w, []float64{1000, 200, 600}) {
		t.Fatalf("weights once the new blackout passed: %v", w)
	}
}

// TestPickerRecomputesOnItsOwn: a picker made during the blackout starts
// weighing once it is over, without a new resolver state.
func TestPickerRecomputesOnItsOwn(t *testing.T) {
	cc, b, clk := build(t)
	t0 := clk.t
	if err := b.UpdateClientConnState(state(&Report{QPS: 900, Utilization: 0.1, At: t0}, &Report{QPS: 100, Utilization: 0.1, At: t0})); err != nil {
		t.Fatal(err)
	}
	cc.Up("a", "b")
	p := cc.Picker()
	clk.t = t0.Add(20 * time.Second)
	got := tu.Count(t, p, 10000)
	if a := got[cc.SubConn("a")]; a < 8500 || a > 9500 {
		t.Fatalf("a got %d of 10000 picks after the blackout, want about 9000", a)
	}
}

func TestParseConfig(t *testing.T) {
	for _, c := range []struct {
		js   string
		want string
	}{
		{`{}`, "10s 3m0s 1s"},
		{`{"blackoutPeriod":"0s","weightExpirationPeriod":"1m","weightUpdatePeriod":"10ms"}`, "0s 1m0s 100ms"},
		{`{"blackoutPeriod":"ten"}`, "error"},
		{`{"blackoutPeriod":"-1s"}`, "error"},
		{`{"weightExpirationPeriod":"0s"}`, "error"},
		{`[]`, "error"},
	} {
		cfg, err := builder{}.ParseConfig(json.RawMessage(c.js))
		got := "error"
		if err == nil {
			lc := cfg.(*LBConfig)
			got = fmt.Sprint(lc.BlackoutPeriod, " ", lc.WeightExpirationPeriod, " ", lc.WeightUpdatePeriod)
		}
		if got != c.want {
			t.Errorf("ParseConfig(%s) = %s (%v), want %s", c.js, got, err, c.want)
		}
	}
}
