package testutils

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// The connectivity states, for short.
const (
	Idle             = connectivity.Idle
	Connecting       = connectivity.Connecting
	Ready            = connectivity.Ready
	TransientFailure = connectivity.TransientFailure
)

// ClientConn is a fake channel as its balancer sees it. Its recording
// methods may be called from any goroutine; the balancer's listeners are
// run by the test's goroutine only, through the SubConns' transition
// methods, so they are serialized with the balancer's methods as the
// channel's contract says.
type ClientConn struct {
	t testing.TB

	// NotifyShutdown makes the fake deliver a final SHUTDOWN update to the
	// listener of a SubConn the balancer shut down (at the next transition
	// or Flush), as a channel may or may not do.
	NotifyShutdown bool
	// NewSubConnErr, when set, is returned by NewSubConn.
	NewSubConnErr error

	mu         sync.Mutex
	subConns   []*SubConn
	states     []balancer.State
	taken      int // states already returned by TakeStates
	resolveNow int
	queued     []func() // listener calls waiting for Flush

	picker atomic.Pointer[balancer.Picker]
}

// NewClientConn returns a fake channel reporting to t.
func NewClientConn(t testing.TB) *ClientConn { return &ClientConn{t: t} }

// NewSubConn records a new IDLE SubConn for addrs.
func (cc *ClientConn) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	if cc.NewSubConnErr != nil {
		return nil, cc.NewSubConnErr
	}
	if len(addrs) != 1 {
		cc.t.Errorf("NewSubConn with %d addresses, want 1", len(addrs))
	}
	if opts.StateListener == nil {
		cc.t.Errorf("NewSubConn without a StateListener")
	}
	sc := &SubConn{cc: cc, Addr: addrs[0], listener: opts.StateListener, state: connectivity.Idle}
	cc.mu.Lock()
	cc.subConns = append(cc.subConns, sc)
	cc.mu.Unlock()
	return sc, nil
}

// UpdateState records s and makes its picker the current one.
func (cc *ClientConn) UpdateState(s balancer.State) {
	if s.Picker == nil {
		cc.t.Errorf("UpdateState(%v) without a picker", s.ConnectivityState)
	}
	cc.mu.Lock()
	cc.states = append(cc.states, s)
	cc.mu.Unlock()
	cc.picker.Store(&s.Picker)
}

// ResolveNow counts the requests to resolve again.
func (cc *ClientConn) ResolveNow(resolver.ResolveNowOptions) {
	cc.mu.Lock()
	cc.resolveNow++
	cc.mu.Unlock()
}

// Target returns a fixed target.
func (cc *ClientConn) Target() string { return "test:///target" }

// ResolveNowCalls returns how many times ResolveNow was called.
func (cc *ClientConn) ResolveNowCalls() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.resolveNow
}

// TakeStates returns the connectivity states published since the last
// call, in order.
func (cc *ClientConn) TakeStates() []connectivity.State {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	var out []connectivity.State
	for _, s := range cc.states[cc.taken:] {
		out = append(out, s.ConnectivityState)
	}
	cc.taken = len(cc.states)
	return out
}

// Last returns the last published state, or a zero State if none was.
func (cc *ClientConn) Last() balancer.State {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if len(cc.states) == 0 {
		return balancer.State{}
	}
	return cc.states[len(cc.states)-1]
}

// Picker returns the current picker, nil before the first UpdateState. It
// may be called from any goroutine.
func (cc *ClientConn) Picker() balancer.Picker {
	if p := cc.picker.Load(); p != nil {
		return *p
	}
	return nil
}

// SubConns returns every SubConn made so far, in order.
func (cc *ClientConn) SubConns() []*SubConn {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return append([]*SubConn(nil), cc.subConns...)
}

// SubConn returns the last SubConn made for addr, failing the test if
// there is none.
func (cc *ClientConn) SubConn(addr string) *SubConn {
	cc.t.Helper()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for i := len(cc.subConns) - 1; i >= 0; i-- {
		if cc.subConns[i].Addr.Addr == addr {
			return cc.subConns[i]
		}
	}
	cc.t.Fatalf("no SubConn was made for %s", addr)
	return nil
}

// Live returns the addresses of the SubConns not shut down, in the order
// they were made.
func (cc *ClientConn) Live() []string {
	var out []string
	for _, sc := range cc.SubConns() {
		if !sc.IsShutdown() {
			out = append(out, sc.Addr.Addr)
		}
	}
	return out
}

// Flush delivers the queued SHUTDOWN updates. Call it from the test's
// goroutine only.
func (cc *ClientConn) Flush() {
	for {
		cc.mu.Lock()
		q := cc.queued
		cc.queued = nil
		cc.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}

// SubConn is a fake subchannel. Connect and Shutdown may be called from any
// goroutine; the transition methods (Connecting, Ready, Fail, Idle) from
// the test's goroutine only. They check the move against the subchannel
// state machine (IDLE → CONNECTING only after Connect, CONNECTING → READY
// or TRANSIENT_FAILURE, TRANSIENT_FAILURE → IDLE after the backoff,
// READY → IDLE when the connection is lost) and fail the test on any
// other.
type SubConn struct {
	cc       *ClientConn
	Addr     resolver.Address
	listener func(balancer.SubConnState)

	mu       sync.Mutex
	state    connectivity.State
	connects int  // Connect calls
	pending  bool // Connect called while IDLE
}

// Connect asks the fake to connect; Connecting then moves it on.
func (sc *SubConn) Connect() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.connects++
	if sc.state == connectivity.Idle {
		sc.pending = true
	}
}

// Shutdown shuts the fake down, queueing a SHUTDOWN update for its listener
// if the ClientConn's NotifyShutdown is set.
func (sc *SubConn) Shutdown() {
	sc.mu.Lock()
	if sc.state == connectivity.Shutdown {
		sc.mu.Unlock()
		return
	}
	sc.state = connectivity.Shutdown
	sc.mu.Unlock()
	if sc.cc.NotifyShutdown {
		sc.cc.mu.Lock()
		sc.cc.queued = append(sc.cc.queued, func() {
			sc.listener(balancer.SubConnState{ConnectivityState: connectivity.Shutdown})
		})
		sc.cc.mu.Unlock()
	}
}

// String returns the fake's address.
func (sc *SubConn) String() string { return sc.Addr.Addr }

// Connects returns how many times Connect was called.
func (sc *SubConn) Connects() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.connects
}

// ConnectPending reports whether Connect was called since the fake last
// went IDLE and it has not moved to CONNECTING yet.
func (sc *SubConn) ConnectPending() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.pending && sc.state == connectivity.Idle
}

// State returns the fake's state.
func (sc *SubConn) State() connectivity.State {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.state
}

// IsShutdown reports whether the balancer shut the fake down.
func (sc *SubConn) IsShutdown() bool { return sc.State() == connectivity.Shutdown }

// Connecting moves the fake from IDLE to CONNECTING; Connect must have been
// called.
func (sc *SubConn) Connecting() {
	sc.cc.t.Helper()
	sc.move(connectivity.Connecting, nil, func(from connectivity.State, pending bool) bool {
		return from == connectivity.Idle && pending
	})
}

// Ready moves the fake from CONNECTING to READY.
func (sc *SubConn) Ready() {
	sc.cc.t.Helper()
	sc.move(connectivity.Ready, nil, func(from connectivity.State, _ bool) bool { return from == connectivity.Connecting })
}

// Fail moves the fake from CONNECTING to TRANSIENT_FAILURE with err.
func (sc *SubConn) Fail(err error) {
	sc.cc.t.Helper()
	sc.move(connectivity.TransientFailure, err, func(from connectivity.State, _ bool) bool { return from == connectivity.Connecting })
}

// Idle moves the fake to IDLE, from TRANSIENT_FAILURE (its backoff ended)
// or from READY (its connection was lost).
func (sc *SubConn) Idle() {
	sc.cc.t.Helper()
	sc.move(connectivity.Idle, nil, func(from connectivity.State, _ bool) bool {
		return from == connectivity.TransientFailure || from == connectivity.Ready
	})
}

// ConnectAndFail is Connecting then Fail(err).
func (sc *SubConn) ConnectAndFail(err error) {
	sc.cc.t.Helper()
	sc.Connecting()
	sc.Fail(err)
}

// Push delivers s to the listener whatever the fake's state, as a channel
// racing its balancer might deliver an update already under way.
func (sc *SubConn) Push(s connectivity.State, err error) {
	sc.cc.Flush()
	sc.listener(balancer.SubConnState{ConnectivityState: s, ConnectionError: err})
}

func (sc *SubConn) move(to connectivity.State, err error, allowed func(from connectivity.State, pending bool) bool) {
	sc.cc.t.Helper()
	sc.cc.Flush()
	sc.mu.Lock()
	from, pending := sc.state, sc.pending
	ok := allowed(from, pending)
	if ok {
		sc.state = to
		sc.pending = false
	}
	sc.mu.Unlock()
	if !ok {
		why := ""
		if from == connectivity.Idle && !pending {
			why = " (Connect was not called)"
		}
		sc.cc.t.Fatalf("%s: %v → %v is not a subchannel transition%s", sc, from, to, why)
	}
	sc.listener(balancer.SubConnState{ConnectivityState: to, ConnectionError: err})
}

// Count picks n times from p and returns how many picks each SubConn got;
// a pick error fails the test.
func Count(t testing.TB, p balancer.Picker, n int) map[balancer.SubConn]int {
	t.Helper()
	got := map[balancer.SubConn]int{}
	for range n {
		r, err := p.Pick(balancer.PickInfo{FullMethodName: "/s/m"})
		if err != nil {
			t.Fatalf("Pick: %v", err)
		}
		got[r.SubConn]++
		if r.Done != nil {
			r.Done(balancer.DoneInfo{})
		}
	}
	return got
}

// State returns a ClientConnState whose resolver state lists addrs, with
// config cfg (which may be nil).
func State(cfg serviceconfig.LoadBalancingConfig, addrs ...string) balancer.ClientConnState {
	var s resolver.State
	for _, a := range addrs {
		s.Addresses = append(s.Addresses, resolver.Address{Addr: a})
	}
	return balancer.ClientConnState{ResolverState: s, BalancerConfig: cfg}
}

// Is fails t unless got equals want.
func Is(t testing.TB, what string, got, want []connectivity.State) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: states %v, want %v", what, got, want)
	}
}

// Up moves the last SubConn of each of addrs from IDLE to CONNECTING to
// READY; each must have been asked to connect.
func (cc *ClientConn) Up(addrs ...string) {
	cc.t.Helper()
	for _, a := range addrs {
		sc := cc.SubConn(a)
		sc.Connecting()
		sc.Ready()
	}
}
