package base_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/balancer/internal/base"
	tu "github.com/h2rpc/h2rpc/channel/balancer/internal/testutils"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

const (
	idle       = tu.Idle
	connecting = tu.Connecting
	ready      = tu.Ready
	tf         = tu.TransientFailure
)

// readyPicker records the READY set it was built with.
type readyPicker struct{ ready []balancer.SubConn }

func (p *readyPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	return balancer.PickResult{SubConn: p.ready[0]}, nil
}

func newBalancer(t *testing.T) (*tu.ClientConn, *base.Balancer) {
	leakcheck.Check(t)
	cc := tu.NewClientConn(t)
	b := base.NewBalancer(cc, "test_policy", func(ready []balancer.SubConn) balancer.Picker {
		return &readyPicker{ready: ready}
	})
	return cc, b
}

// readySet returns the addresses the current picker was built over.
func readySet(t *testing.T, cc *tu.ClientConn) string {
	t.Helper()
	p, ok := cc.Picker().(*readyPicker)
	if !ok {
		t.Fatalf("picker is %T, want the READY picker", cc.Picker())
	}
	var s []string
	for _, sc := range p.ready {
		s = append(s, sc.(*tu.SubConn).Addr.Addr)
	}
	return strings.Join(s, ",")
}

func update(t *testing.T, b *base.Balancer, addrs ...string) {
	t.Helper()
	if err := b.UpdateClientConnState(tu.State(nil, addrs...)); err != nil {
		t.Fatalf("UpdateClientConnState(%v): %v", addrs, err)
	}
}

// pickErr returns the error of a pick from the current picker.
func pickErr(t *testing.T, cc *tu.ClientConn) error {
	t.Helper()
	_, err := cc.Picker().Pick(balancer.PickInfo{})
	return err
}

func TestConnectsEveryAddressEagerly(t *testing.T) {
	cc, b := newBalancer(t)
	update(t, b, "a", "b", "a", "c")
	if got := strings.Join(cc.Live(), ","); got != "a,b,c" {
		t.Fatalf("SubConns %s, want a,b,c (deduplicated, in order)", got)
	}
	for _, sc := range cc.SubConns() {
		if !sc.ConnectPending() || sc.Connects() != 1 {
			t.Fatalf("%s: %d Connect calls, pending %v; want one", sc, sc.Connects(), sc.ConnectPending())
		}
	}
	tu.Is(t, "after the first update", cc.TakeStates(), []connectivity.State{connecting})
	if err := pickErr(t, cc); err != balancer.ErrNoSubConnAvailable {
		t.Fatalf("CONNECTING pick: %v, want ErrNoSubConnAvailable", err)
	}
	a, bb, c := cc.SubConn("a"), cc.SubConn("b"), cc.SubConn("c")
	a.Connecting()
	bb.Connecting()
	c.Connecting()
	tu.Is(t, "subchannels connecting", cc.TakeStates(), nil)
	a.Ready()
	tu.Is(t, "a READY", cc.TakeStates(), []connectivity.State{ready})
	if got := readySet(t, cc); got != "a" {
		t.Fatalf("READY set %s, want a", got)
	}
	c.Ready()
	tu.Is(t, "c READY", cc.TakeStates(), []connectivity.State{ready})
	if got := readySet(t, cc); got != "a,c" {
		t.Fatalf("READY set %s, want a,c", got)
	}
	bb.Fail(errors.New("refused"))
	tu.Is(t, "b failing while others are READY", cc.TakeStates(), nil)
	b.Close()
	if live := cc.Live(); len(live) != 0 {
		t.Fatalf("after Close, %v are not shut down", live)
	}
}

func TestReconnectsWhenIdle(t *testing.T) {
	cc, b := newBalancer(t)
	update(t, b, "a", "b")
	cc.Up("a", "b")
	a, bb := cc.SubConn("a"), cc.SubConn("b")
	cc.TakeStates()
	a.Idle() // connection lost
	if !a.ConnectPending() || a.Connects() != 2 {
		t.Fatalf("a went IDLE: %d Connect calls, want 2", a.Connects())
	}
	tu.Is(t, "a lost", cc.TakeStates(), []connectivity.State{ready})
	if got := readySet(t, cc); got != "b" {
		t.Fatalf("READY set %s, want b", got)
	}
	bb.Idle()
	tu.Is(t, "both lost", cc.TakeStates(), []connectivity.State{connecting})
	a.Connecting()
	a.Ready()
	tu.Is(t, "a back", cc.TakeStates(), []connectivity.State{ready})
	b.Close()
}

func TestStickyTransientFailure(t *testing.T) {
	for _, notify := range []bool{false, true} {
		cc, b := newBalancer(t)
		cc.NotifyShutdown = notify
		update(t, b, "a", "b")
		a, bb := cc.SubConn("a"), cc.SubConn("b")
		a.ConnectAndFail(errors.New("a refused"))
		tu.Is(t, "a failed, b connecting", cc.TakeStates(), []connectivity.State{connecting})
		last := errors.New("b refused")
		bb.ConnectAndFail(last)
		tu.Is(t, "both failed", cc.TakeStates(), []connectivity.State{tf})
		err := pickErr(t, cc)
		if _, isStatus := status.FromError(err); isStatus || !errors.Is(err, last) {
			t.Fatalf("TRANSIENT_FAILURE pick: %v; want a non-status error wrapping %v", err, last)
		}
		// Backoff over: each goes IDLE, is reconnected, and fails again.
		// The channel stays in TRANSIENT_FAILURE; each new failure gives a
		// picker with its error.
		a.Idle()
		if !a.ConnectPending() {
			t.Fatal("a not reconnected after its backoff")
		}
		a.Connecting()
		tu.Is(t, "a reconnecting", cc.TakeStates(), nil)
		last = errors.New("a refused again")
		a.Fail(last)
		tu.Is(t, "a failed again", cc.TakeStates(), []connectivity.State{tf})
		if err := pickErr(t, cc); !errors.Is(err, last) {
			t.Fatalf("pick error %v, want the last connection error %v", err, last)
		}
		bb.Idle()
		bb.Connecting()
		bb.Ready()
		tu.Is(t, "b READY", cc.TakeStates(), []connectivity.State{ready})
		b.Close()
		cc.Flush()
	}
}

func TestFailureErrorHidesStatus(t *testing.T) {
	cc, b := newBalancer(t)
	update(t, b, "a")
	cc.SubConn("a").ConnectAndFail(status.Error(codes.PermissionDenied, "no"))
	err := pickErr(t, cc)
	if _, isStatus := status.FromError(err); isStatus || !strings.Contains(err.Error(), "no") {
		t.Fatalf("pick error %v: want the connection error's text without its status", err)
	}
	b.Close()
}

func TestAddressUpdate(t *testing.T) {
	cc, b := newBalancer(t)
	update(t, b, "a", "b")
	cc.Up("a", "b")
	a, bb := cc.SubConn("a"), cc.SubConn("b")
	cc.TakeStates()
	update(t, b, "c", "b")
	if !a.IsShutdown() || bb.IsShutdown() {
		t.Fatalf("after the update: a shut down %v (want true), b %v (want false)", a.IsShutdown(), bb.IsShutdown())
	}
	if got := strings.Join(cc.Live(), ","); got != "b,c" {
		t.Fatalf("live SubConns %s, want b,c", got)
	}
	tu.Is(t, "update", cc.TakeStates(), []connectivity.State{ready})
	if got := readySet(t, cc); got != "b" {
		t.Fatalf("READY set %s, want b", got)
	}
	a.Push(idle, nil) // a late update from a removed subchannel
	tu.Is(t, "late update", cc.TakeStates(), nil)
	c := cc.SubConn("c")
	c.Connecting()
	c.Ready()
	if got := readySet(t, cc); got != "c,b" {
		t.Fatalf("READY set %s, want c,b (address order)", got)
	}
	b.Close()
}

func TestEmptyAddressList(t *testing.T) {
	cc, b := newBalancer(t)
	update(t, b, "a")
	cc.Up("a")
	cc.TakeStates()
	if err := b.UpdateClientConnState(tu.State(nil)); !errors.Is(err, balancer.ErrBadResolverState) {
		t.Fatalf("empty list: %v, want ErrBadResolverState", err)
	}
	tu.Is(t, "empty list", cc.TakeStates(), []connectivity.State{tf})
	if !cc.SubConn("a").IsShutdown() {
		t.Fatal("a not shut down after an empty list")
	}
	if err := pickErr(t, cc); err == nil || strings.Contains(err.Error(), "%!") {
		t.Fatalf("pick error %v", err)
	}
	b.ResolverError(errors.New("dns down"))
	tu.Is(t, "resolver error with no address", cc.TakeStates(), []connectivity.State{tf})
	update(t, b, "b")
	tu.Is(t, "addresses again", cc.TakeStates(), []connectivity.State{connecting})
	b.Close()
}

func TestResolverError(t *testing.T) {
	cc, b := newBalancer(t)
	b.ResolverError(errors.New("dns down"))
	tu.Is(t, "resolver error first", cc.TakeStates(), []connectivity.State{tf})
	if err := pickErr(t, cc); !strings.Contains(err.Error(), "dns down") {
		t.Fatalf("pick error %v, want the resolver's", err)
	}
	update(t, b, "a")
	cc.Up("a")
	cc.TakeStates()
	b.ResolverError(errors.New("dns down again"))
	tu.Is(t, "resolver error after a good state", cc.TakeStates(), nil)
	cc.SubConn("a").Idle()
	cc.SubConn("a").ConnectAndFail(errors.New("refused"))
	tu.Is(t, "a failed", cc.TakeStates(), []connectivity.State{connecting, tf})
	b.ResolverError(errors.New("dns down at last"))
	tu.Is(t, "resolver error while failing", cc.TakeStates(), []connectivity.State{tf})
	if err := pickErr(t, cc); !strings.Contains(err.Error(), "dns down at last") {
		t.Fatalf("pick error %v, want the resolver's", err)
	}
	b.Close()
}

func TestEndpoints(t *testing.T) {
	cc, b := newBalancer(t)
	s := resolver.State{Endpoints: []resolver.Endpoint{
		{Addresses: []resolver.Address{{Addr: "a1"}, {Addr: "a2"}}},
		{Addresses: []resolver.Address{{Addr: "b1"}, {Addr: "a1"}}},
	}}
	if err := b.UpdateClientConnState(balancer.ClientConnState{ResolverState: s}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cc.Live(), ","); got != "a1,a2,b1" {
		t.Fatalf("SubConns %s, want a1,a2,b1", got)
	}
	b.Close()
}

func TestNewSubConnError(t *testing.T) {
	cc, b := newBalancer(t)
	cc.NewSubConnErr = errors.New("channel closing")
	if err := b.UpdateClientConnState(tu.State(nil, "a")); err == nil {
		t.Fatal("UpdateClientConnState succeeded without a subchannel")
	}
	tu.Is(t, "no subchannel", cc.TakeStates(), []connectivity.State{tf})
	b.Close()
}

func TestClosedIgnoresEverything(t *testing.T) {
	cc, b := newBalancer(t)
	update(t, b, "a")
	cc.TakeStates()
	a := cc.SubConn("a")
	b.Close()
	a.Push(connectivity.Ready, nil)
	b.ResolverError(errors.New("late"))
	update(t, b, "b")
	tu.Is(t, "after Close", cc.TakeStates(), nil)
	if len(cc.SubConns()) != 1 {
		t.Fatal("a SubConn was made after Close")
	}
}
