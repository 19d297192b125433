package pickfirst

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	tu "github.com/h2rpc/h2rpc/channel/balancer/internal/testutils"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

const (
	idle       = tu.Idle
	connecting = tu.Connecting
	ready      = tu.Ready
	tf         = tu.TransientFailure
)

type states = []connectivity.State

// delay is gRFC A61's Connection Attempt Delay, written out so that the
// tests check the constant too.
const delay = 250 * time.Millisecond

func newPF(t testing.TB) (*tu.ClientConn, *pickFirst) {
	cc := tu.NewClientConn(t)
	return cc, balancer.Get(Name).Build(cc, balancer.BuildOptions{}).(*pickFirst)
}

func update(t testing.TB, b balancer.Balancer, cfg serviceconfig.LoadBalancingConfig, addrs ...string) {
	t.Helper()
	if err := b.UpdateClientConnState(tu.State(cfg, addrs...)); err != nil {
		t.Fatalf("UpdateClientConnState(%v): %v", addrs, err)
	}
}

// pending returns the addresses whose live SubConn was asked to connect
// and has not started yet.
func pending(cc *tu.ClientConn) string {
	var p []string
	for _, sc := range cc.SubConns() {
		if sc.ConnectPending() {
			p = append(p, sc.Addr.Addr)
		}
	}
	return strings.Join(p, ",")
}

func wantPending(t *testing.T, cc *tu.ClientConn, what, want string) {
	t.Helper()
	if got := pending(cc); got != want {
		t.Fatalf("%s: connecting %q, want %q", what, got, want)
	}
}

// picked returns the address the current picker picks, or its error.
func picked(cc *tu.ClientConn) (string, error) {
	r, err := cc.Picker().Pick(balancer.PickInfo{})
	if err != nil {
		return "", err
	}
	return r.SubConn.(*tu.SubConn).Addr.Addr, nil
}

func wantPicked(t *testing.T, cc *tu.ClientConn, want string) {
	t.Helper()
	if got, err := picked(cc); got != want || err != nil {
		t.Fatalf("pick: %q, %v; want %s", got, err, want)
	}
}

func TestRegistered(t *testing.T) {
	bb := balancer.Get("pick_first")
	if bb == nil || bb.Name() != Name {
		t.Fatalf("balancer.Get(pick_first) = %v", bb)
	}
}

func TestParseConfig(t *testing.T) {
	for _, c := range []struct {
		js      string
		shuffle bool
		ok      bool
	}{
		{`{}`, false, true},
		{`null`, false, true},
		{`{"shuffleAddressList": true}`, true, true},
		{`{"shuffleAddressList": false, "other": [1]}`, false, true},
		{`{"shuffleAddressList": "yes"}`, false, false},
		{`{"shuffleAddressList": 1}`, false, false},
		{`[true]`, false, false},
		{`{`, false, false},
		{``, false, false},
	} {
		cfg, err := builder{}.ParseConfig(json.RawMessage(c.js))
		switch {
		case c.ok != (err == nil):
			t.Errorf("ParseConfig(%s) = %v, %v; want ok %v", c.js, cfg, err, c.ok)
		case c.ok && cfg.(config).ShuffleAddressList != c.shuffle:
			t.Errorf("ParseConfig(%s): shuffleAddressList %v, want %v", c.js, !c.shuffle, c.shuffle)
		}
	}
}

func TestTriesInOrder(t *testing.T) {
	leakcheck.Check(t)
	cc, b := newPF(t)
	update(t, b, nil, "a", "b", "a", "c")
	tu.Is(t, "first update", cc.TakeStates(), states{connecting})
	if _, err := picked(cc); err != balancer.ErrNoSubConnAvailable {
		t.Fatalf("CONNECTING pick: %v, want ErrNoSubConnAvailable", err)
	}
	if got := len(cc.SubConns()); got != 3 || fmt.Sprint(b.addrs) != "[a b c]" {
		t.Fatalf("%d SubConns for the list %v, want 3 for [a b c]", got, b.addrs)
	}
	wantPending(t, cc, "start", "a")
	cc.SubConn("a").ConnectAndFail(errors.New("refused"))
	wantPending(t, cc, "a failed", "b") // at once, not after the delay
	cc.SubConn("b").Connecting()
	cc.SubConn("b").Ready()
	tu.Is(t, "b READY", cc.TakeStates(), states{ready})
	if got := strings.Join(cc.Live(), ","); got != "b" {
		t.Fatalf("live SubConns %s, want only b", got)
	}
	for sc, n := range tu.Count(t, cc.Picker(), 100) {
		if sc != cc.SubConn("b") || n != 100 {
			t.Fatalf("picks went to %v (%d)", sc, n)
		}
	}
	b.Close()
	if live := cc.Live(); len(live) != 0 {
		t.Fatalf("after Close, %v are live", live)
	}
}

func TestStickyTransientFailure(t *testing.T) {
	for _, notify := range []bool{false, true} {
		t.Run(fmt.Sprint("notifyShutdown=", notify), func(t *testing.T) {
			cc, b := newPF(t)
			cc.NotifyShutdown = notify
			defer b.Close()
			update(t, b, nil, "a", "b")
			a, bb := cc.SubConn("a"), cc.SubConn("b")
			a.ConnectAndFail(errors.New("a refused"))
			errB := errors.New("b refused")
			bb.ConnectAndFail(errB)
			tu.Is(t, "all failed", cc.TakeStates(), states{connecting, tf})
			_, err := picked(cc)
			if _, isStatus := status.FromError(err); isStatus || err == balancer.ErrNoSubConnAvailable || !errors.Is(err, errB) {
				t.Fatalf("TRANSIENT_FAILURE pick: %v; want a non-status error wrapping %v", err, errB)
			}
			// Both keep reconnecting after their backoff; CONNECTING does
			// not leave TRANSIENT_FAILURE, and the error is refreshed once
			// per round of failures.
			a.Idle()
			wantPending(t, cc, "a's backoff over", "a")
			a.ConnectAndFail(errors.New("a refused again"))
			tu.Is(t, "one failure of two", cc.TakeStates(), nil)
			bb.Idle()
			errB2 := errors.New("b refused again")
			bb.ConnectAndFail(errB2)
			tu.Is(t, "a round of failures", cc.TakeStates(), states{tf})
			if _, err := picked(cc); !errors.Is(err, errB2) {
				t.Fatalf("pick error %v, want the last one, %v", err, errB2)
			}
			a.Idle()
			a.Connecting()
			a.Ready()
			tu.Is(t, "a READY", cc.TakeStates(), states{ready})
			wantPicked(t, cc, "a")
			if got := strings.Join(cc.Live(), ","); got != "a" {
				t.Fatalf("live SubConns %s, want a", got)
			}
		})
	}
}

// startsAfter checks, in a synctest bubble, that addr is asked to connect
// exactly d from now, and nothing before.
func startsAfter(t *testing.T, cc *tu.ClientConn, addr string, d time.Duration) {
	t.Helper()
	start := time.Now()
	time.Sleep(d - time.Nanosecond)
	synctest.Wait()
	wantPending(t, cc, fmt.Sprint("just before ", d), "")
	time.Sleep(time.Nanosecond)
	synctest.Wait()
	wantPending(t, cc, fmt.Sprint("after ", d), addr)
	if got := time.Since(start); got != d {
		t.Fatalf("%s started after %v, want %v", addr, got, d)
	}
}

func TestHappyEyeballs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, b := newPF(t)
		defer b.Close()
		update(t, b, nil, "a", "b", "c")
		wantPending(t, cc, "at 0", "a")
		cc.SubConn("a").Connecting()
		startsAfter(t, cc, "b", delay)
		cc.SubConn("b").Connecting()
		startsAfter(t, cc, "c", delay)
		cc.SubConn("c").Connecting()
		// The first to connect wins, even out of order.
		cc.SubConn("b").Ready()
		tu.Is(t, "b READY", cc.TakeStates(), states{connecting, ready})
		if got := strings.Join(cc.Live(), ","); got != "b" {
			t.Fatalf("live SubConns %s, want b", got)
		}
		wantPicked(t, cc, "b")
	})
}

// A failure of the attempt being waited for starts the next address at
// once and the delay afresh from then.
func TestHappyEyeballsFailureRestartsDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, b := newPF(t)
		defer b.Close()
		update(t, b, nil, "a", "b", "c")
		cc.SubConn("a").Connecting()
		time.Sleep(100 * time.Millisecond)
		cc.SubConn("a").Fail(errors.New("refused"))
		wantPending(t, cc, "a failed at 100ms", "b")
		cc.SubConn("b").Connecting()
		startsAfter(t, cc, "c", delay)
	})
}

// When the timer has started the last address, the pass ends with the last
// failure, whichever comes last.
func TestHappyEyeballsEndOfPass(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, b := newPF(t)
		defer b.Close()
		update(t, b, nil, "a", "b")
		cc.SubConn("a").Connecting()
		time.Sleep(delay)
		synctest.Wait()
		cc.SubConn("b").Connecting()
		cc.SubConn("b").Fail(errors.New("b refused"))
		tu.Is(t, "b failed, a still connecting", cc.TakeStates(), states{connecting})
		cc.SubConn("b").Idle() // its backoff ends during the pass
		wantPending(t, cc, "b IDLE during the pass", "")
		errA := errors.New("a refused")
		cc.SubConn("a").Fail(errA)
		tu.Is(t, "both failed", cc.TakeStates(), states{tf})
		if _, err := picked(cc); !errors.Is(err, errA) {
			t.Fatalf("pick error %v, want %v", err, errA)
		}
		// b, whose backoff ended during the pass, is reconnected now, a
		// after its own; no timer is left.
		wantPending(t, cc, "the pass over", "b")
		time.Sleep(10 * delay)
		synctest.Wait()
		wantPending(t, cc, "later", "b")
		cc.SubConn("a").Idle()
		wantPending(t, cc, "a's backoff over", "a,b")
	})
}

func TestCloseStopsTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, b := newPF(t)
		update(t, b, nil, "a", "b")
		cc.SubConn("a").Connecting()
		time.Sleep(delay / 2)
		b.Close()
		time.Sleep(10 * delay)
		synctest.Wait()
		if n := cc.SubConn("b").Connects(); n != 0 {
			t.Fatalf("b asked to connect %d times after Close", n)
		}
	})
}

// ready brings pick_first to READY on addrs[len-1], the others failed.
func readyOnLast(t testing.TB, addrs ...string) (*tu.ClientConn, *pickFirst) {
	cc, b := newPF(t)
	update(t, b, nil, addrs...)
	for _, a := range addrs[:len(addrs)-1] {
		cc.SubConn(a).ConnectAndFail(errors.New("refused"))
	}
	cc.Up(addrs[len(addrs)-1])
	cc.TakeStates()
	return cc, b
}

func TestIdleAfterConnectionLost(t *testing.T) {
	leakcheck.Check(t)
	cc, b := readyOnLast(t, "a", "b")
	defer b.Close()
	oldA := cc.SubConn("a")
	cc.SubConn("b").Idle() // the connection is lost
	tu.Is(t, "connection lost", cc.TakeStates(), states{idle})
	wantPending(t, cc, "IDLE", "")
	// The first picks, from many goroutines at once, ask the first
	// address to connect once and wait.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := picked(cc); err != balancer.ErrNoSubConnAvailable {
				t.Errorf("IDLE pick: %v, want ErrNoSubConnAvailable", err)
			}
		})
	}
	wg.Wait()
	a := cc.SubConn("a")
	if a == oldA || a.Connects() != 1 {
		t.Fatalf("first address: new SubConn %v, %d Connect calls; want a new one asked once", a != oldA, a.Connects())
	}
	a.Connecting()
	tu.Is(t, "picked while IDLE", cc.TakeStates(), states{connecting})
	a.Ready()
	tu.Is(t, "a READY", cc.TakeStates(), states{ready})
	wantPicked(t, cc, "a")
}

func TestExitIdle(t *testing.T) {
	cc, b := readyOnLast(t, "a", "b")
	defer b.Close()
	cc.SubConn("b").Idle()
	b.ExitIdle()
	tu.Is(t, "ExitIdle", cc.TakeStates(), states{idle, connecting})
	wantPending(t, cc, "ExitIdle", "a")
	b.ExitIdle() // not IDLE: nothing
	tu.Is(t, "ExitIdle again", cc.TakeStates(), nil)
	cc.SubConn("a").ConnectAndFail(errors.New("refused"))
	wantPending(t, cc, "a failed", "b")
	// The idle picker of before now only asks a subchannel that is not
	// IDLE, which does nothing.
	cc.SubConn("b").Connecting()
	cc.SubConn("b").Ready()
	tu.Is(t, "b READY", cc.TakeStates(), states{ready})
}

func TestUpdateKeepsReadySubConn(t *testing.T) {
	cc, b := readyOnLast(t, "a", "b")
	defer b.Close()
	made := len(cc.SubConns())
	update(t, b, nil, "c", "b")
	tu.Is(t, "b still listed", cc.TakeStates(), nil)
	if len(cc.SubConns()) != made || cc.SubConn("b").IsShutdown() {
		t.Fatal("the READY SubConn was not kept alone")
	}
	wantPicked(t, cc, "b")
	update(t, b, nil, "c", "d")
	tu.Is(t, "b gone", cc.TakeStates(), states{connecting})
	if !cc.SubConn("b").IsShutdown() {
		t.Fatal("b is live after it left the list")
	}
	wantPending(t, cc, "b gone", "c")
	cc.SubConn("b").Push(idle, nil) // late: ignored
	tu.Is(t, "late update", cc.TakeStates(), nil)
}

func TestUpdateWhileFailingStaysFailing(t *testing.T) {
	cc, b := newPF(t)
	defer b.Close()
	update(t, b, nil, "a")
	cc.SubConn("a").ConnectAndFail(errors.New("refused"))
	tu.Is(t, "a failed", cc.TakeStates(), states{connecting, tf})
	update(t, b, nil, "a", "b")
	wantPending(t, cc, "new list", "b") // a is in its backoff
	cc.SubConn("b").Connecting()
	tu.Is(t, "still failing", cc.TakeStates(), nil)
	cc.SubConn("b").Ready()
	tu.Is(t, "b READY", cc.TakeStates(), states{ready})
	// a, failing while passed over, counts as failed in the new pass.
	cc.SubConn("b").Idle()
	b.ExitIdle()
	cc.SubConn("a").ConnectAndFail(errors.New("refused"))
	update(t, b, nil, "a", "b")
	cc.SubConn("b").ConnectAndFail(errors.New("refused"))
	tu.Is(t, "every address failed", cc.TakeStates(), states{idle, connecting, connecting, tf})
}

// A timer callback that finds its timer stopped (it fired while the
// balancer was busy) does nothing.
func TestStaleTimer(t *testing.T) {
	cc, b := newPF(t)
	defer b.Close()
	update(t, b, nil, "a", "b", "c")
	cc.SubConn("a").Connecting()
	b.mu.Lock()
	stale := b.timerSeq
	b.stopTimer()
	b.mu.Unlock()
	b.timerFired(stale)
	wantPending(t, cc, "stale timer", "")
	b.mu.Lock()
	b.startTimer()
	b.stopTimer()
	b.startTimer()
	current := b.timerSeq
	b.mu.Unlock()
	b.timerFired(current)
	wantPending(t, cc, "current timer", "b")
}

func TestUpdateWhileIdle(t *testing.T) {
	cc, b := readyOnLast(t, "a", "b")
	defer b.Close()
	cc.SubConn("b").Idle()
	update(t, b, nil, "c", "b")
	tu.Is(t, "new list while IDLE", cc.TakeStates(), states{idle, idle})
	if _, err := picked(cc); err != balancer.ErrNoSubConnAvailable {
		t.Fatal(err)
	}
	wantPending(t, cc, "picked", "c")
}

func TestEmptyListAndResolverErrors(t *testing.T) {
	cc, b := newPF(t)
	defer b.Close()
	b.ResolverError(errors.New("dns down"))
	tu.Is(t, "resolver error first", cc.TakeStates(), states{tf})
	if _, err := picked(cc); err == nil || !strings.Contains(err.Error(), "dns down") {
		t.Fatalf("pick error %v, want the resolver's", err)
	}
	update(t, b, nil, "a")
	tu.Is(t, "first list after an error", cc.TakeStates(), states{connecting})
	cc.Up("a")
	b.ResolverError(errors.New("dns down again"))
	tu.Is(t, "resolver error while READY", cc.TakeStates(), states{ready})
	if err := b.UpdateClientConnState(tu.State(nil)); !errors.Is(err, balancer.ErrBadResolverState) {
		t.Fatalf("empty list: %v, want ErrBadResolverState", err)
	}
	tu.Is(t, "empty list", cc.TakeStates(), states{tf})
	if !cc.SubConn("a").IsShutdown() {
		t.Fatal("a is live after an empty list")
	}
	update(t, b, nil, "b")
	tu.Is(t, "a list after an empty one", cc.TakeStates(), states{connecting})
	cc.SubConn("b").ConnectAndFail(errors.New("refused"))
	cc.TakeStates()
	b.ResolverError(errors.New("dns down at last"))
	tu.Is(t, "resolver error while failing", cc.TakeStates(), states{tf})
	if _, err := picked(cc); !strings.Contains(err.Error(), "dns down at last") {
		t.Fatalf("pick error %v", err)
	}
}

func TestShuffle(t *testing.T) {
	defer func(f func(int, func(int, int))) { shuffle = f }(shuffle)
	calls := 0
	shuffle = func(n int, swap func(i, j int)) { // reverses
		calls++
		for i := range n / 2 {
			swap(i, n-1-i)
		}
	}
	_, b := newPF(t)
	update(t, b, nil, "a", "b", "c")
	if calls != 0 {
		t.Fatal("shuffled without the config asking")
	}
	b.Close()

	cc, b := newPF(t)
	update(t, b, config{ShuffleAddressList: true}, "a", "b", "c")
	wantPending(t, cc, "shuffled", "c")
	b.Close()

	// Endpoints are shuffled, not the addresses in each.
	_, b = newPF(t)
	defer b.Close()
	s := resolver.State{Endpoints: []resolver.Endpoint{
		{Addresses: []resolver.Address{{Addr: "a1"}, {Addr: "a2"}}},
		{Addresses: []resolver.Address{{Addr: "b1"}, {Addr: "b2"}}},
	}}
	if err := b.UpdateClientConnState(balancer.ClientConnState{ResolverState: s, BalancerConfig: config{ShuffleAddressList: true}}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(b.addrs); got != "[b1 b2 a1 a2]" {
		t.Fatalf("order %s, want [b1 b2 a1 a2]", got)
	}
	if s.Endpoints[0].Addresses[0].Addr != "a1" {
		t.Fatal("the resolver's state was changed")
	}
}

func TestInterleave(t *testing.T) {
	var in []resolver.Address
	for _, a := range []string{"1.1.1.1:1", "2.2.2.2:1", "[::1]:1", "[::2]:1", "[::ffff:3.3.3.3]:1", "host:1", "[fe80::1%eth0]:1"} {
		in = append(in, resolver.Address{Addr: a})
	}
	want := "[1.1.1.1:1 [::1]:1 host:1 2.2.2.2:1 [::2]:1 [::ffff:3.3.3.3]:1 [fe80::1%eth0]:1]"
	if got := fmt.Sprint(interleave(in)); got != want {
		t.Fatalf("interleave = %s, want %s", got, want)
	}
	cc, b := newPF(t)
	defer b.Close()
	update(t, b, nil, "1.1.1.1:1", "2.2.2.2:1", "[::1]:1")
	if got := fmt.Sprint(b.addrs); got != "[1.1.1.1:1 [::1]:1 2.2.2.2:1]" {
		t.Fatalf("addresses tried in the order %s", got)
	}
	wantPending(t, cc, "interleaved", "1.1.1.1:1")
	one := in[:2]
	if got := fmt.Sprint(interleave(one)); got != "[1.1.1.1:1 2.2.2.2:1]" {
		t.Fatalf("interleave of one family = %s", got)
	}
}

func TestBadInput(t *testing.T) {
	cc, b := newPF(t)
	defer b.Close()
	type other struct {
		serviceconfig.LoadBalancingConfig
	}
	if err := b.UpdateClientConnState(tu.State(other{}, "a")); !errors.Is(err, balancer.ErrBadResolverState) {
		t.Fatalf("a foreign config: %v, want ErrBadResolverState", err)
	}
	cc.NewSubConnErr = errors.New("channel closing")
	update(t, b, nil, "a")
	tu.Is(t, "no subchannel", cc.TakeStates(), states{connecting, tf})
}

func TestPickDoesNotAllocate(t *testing.T) {
	cc, b := readyOnLast(t, "a")
	defer b.Close()
	p := cc.Picker()
	if n := testing.AllocsPerRun(1000, func() { p.Pick(balancer.PickInfo{}) }); n != 0 {
		t.Fatalf("Pick allocates %v times", n)
	}
}

// TestConcurrentPicks hammers the pickers from several goroutines while
// the balancer goes through random updates and transitions, under the
// race detector.
func TestConcurrentPicks(t *testing.T) {
	leakcheck.Check(t)
	cc, b := newPF(t)
	defer b.Close()
	stop := tu.RunPickers(cc, 4)
	rng := rand.New(rand.NewPCG(5, 6))
	all := []string{"a", "b", "c"}
	update(t, b, nil, all...)
	for range 3000 {
		switch rng.IntN(20) {
		case 0:
			update(t, b, nil, all[:1+rng.IntN(3)]...)
		case 1:
			b.ExitIdle()
		default:
			for _, sc := range cc.SubConns() {
				sc.Step(rng)
			}
		}
	}
	if n, err := stop(); n == 0 || err != nil {
		t.Fatalf("%d picks: %v", n, err)
	}
}

func BenchmarkPick(b *testing.B) {
	cc, bal := readyOnLast(b, "a")
	defer bal.Close()
	tu.BenchmarkPick(b, cc.Picker())
}

// FuzzParseConfig checks that any input gives an error or a config, never
// a panic, and that a config is what encoding/json reads from the input.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{`{}`, `{"shuffleAddressList": true}`, `{"shuffleAddressList": 1}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		cfg, err := builder{}.ParseConfig(js)
		var want struct{ ShuffleAddressList bool }
		if jerr := json.Unmarshal(js, &want); (err == nil) != (jerr == nil) {
			t.Fatalf("ParseConfig(%q): %v; encoding/json: %v", js, err, jerr)
		}
		if err == nil && cfg.(config).ShuffleAddressList != want.ShuffleAddressList {
			t.Fatalf("ParseConfig(%q) = %+v, want %+v", js, cfg, want)
		}
	})
}
