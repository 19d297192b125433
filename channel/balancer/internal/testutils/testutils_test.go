package testutils

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/resolver"
)

// recorder is a testing.TB that records the first failure instead of
// failing; its Fatalf panics, to stop the caller as t.Fatalf would.
type recorder struct {
	testing.TB
	failure string
}

type fatal struct{}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	if r.failure == "" {
		r.failure = fmt.Sprintf(format, args...)
	}
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(fatal{})
}

// run calls f with a fake channel reporting to a recorder, and returns the
// failure f caused, if any.
func run(t *testing.T, f func(cc *ClientConn, sc *SubConn, got *[]connectivity.State)) string {
	r := &recorder{TB: t}
	cc := NewClientConn(r)
	var got []connectivity.State
	s, _ := cc.NewSubConn([]resolver.Address{{Addr: "a"}}, balancer.NewSubConnOptions{
		StateListener: func(st balancer.SubConnState) { got = append(got, st.ConnectivityState) },
	})
	func() {
		defer func() {
			if p := recover(); p != nil && p != (fatal{}) {
				panic(p)
			}
		}()
		f(cc, s.(*SubConn), &got)
	}()
	return r.failure
}

func TestTransitionsAreChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func(*SubConn)
		want string // the failure, "" for none
	}{
		{"legal", func(sc *SubConn) {
			sc.Connect()
			sc.ConnectAndFail(errors.New("x"))
			sc.Idle()
			sc.Connect()
			sc.Connecting()
			sc.Ready()
			sc.Idle()
		}, ""},
		{"connecting without Connect", func(sc *SubConn) { sc.Connecting() }, "Connect was not called"},
		{"ready from idle", func(sc *SubConn) { sc.Connect(); sc.Ready() }, "IDLE → READY"},
		{"idle from connecting", func(sc *SubConn) { sc.Connect(); sc.Connecting(); sc.Idle() }, "CONNECTING → IDLE"},
		{"after shutdown", func(sc *SubConn) { sc.Shutdown(); sc.Connect(); sc.Connecting() }, "SHUTDOWN → CONNECTING"},
	} {
		failure := run(t, func(_ *ClientConn, sc *SubConn, _ *[]connectivity.State) { c.f(sc) })
		if (c.want == "") != (failure == "") || !strings.Contains(failure, c.want) {
			t.Errorf("%s: failure %q, want %q", c.name, failure, c.want)
		}
	}
}

func TestRecords(t *testing.T) {
	failure := run(t, func(cc *ClientConn, sc *SubConn, got *[]connectivity.State) {
		cc.NotifyShutdown = true
		sc.Connect()
		sc.Connecting()
		sc.Ready()
		sc.Shutdown()
		cc.Flush()
		if fmt.Sprint(*got) != "[CONNECTING READY SHUTDOWN]" {
			t.Errorf("listener saw %v", *got)
		}
		cc.UpdateState(balancer.State{ConnectivityState: connectivity.Connecting, Picker: nil})
		cc.UpdateState(balancer.State{ConnectivityState: connectivity.Ready, Picker: &struct{ balancer.Picker }{}})
		if s := cc.TakeStates(); fmt.Sprint(s) != "[CONNECTING READY]" || len(cc.TakeStates()) != 0 {
			t.Errorf("TakeStates = %v, then not empty", s)
		}
	})
	if !strings.Contains(failure, "without a picker") {
		t.Fatalf("a nil picker was not reported: %q", failure)
	}
}
