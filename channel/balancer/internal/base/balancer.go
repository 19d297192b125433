package base

import (
	"slices"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/resolver"
)

// PickerBuilder returns the picker to publish when ready, the READY
// subchannels in address order, is not empty. It is called from the
// balancer's methods and listeners only, never concurrently.
type PickerBuilder func(ready []balancer.SubConn) balancer.Picker

// Balancer keeps one subchannel per address of the resolver's state and
// keeps every one of them connected: it calls Connect on each as soon as it
// is made and whenever it goes IDLE. Its state is READY when a subchannel
// is READY, else CONNECTING when one is IDLE or CONNECTING, else
// TRANSIENT_FAILURE. A subchannel that failed counts as failed until it is
// READY again, even while it reconnects (gRFC A62's sticky
// TRANSIENT_FAILURE, which grpc-go's round_robin gets from its pick_first
// children), so a channel whose servers are all down stays in
// TRANSIENT_FAILURE instead of flapping to CONNECTING on every retry.
//
// Like every balancer, it is driven by one goroutine at a time (the
// channel's); it holds no lock. Its pickers are built by a PickerBuilder.
type Balancer struct {
	cc     balancer.ClientConn
	policy string
	build  PickerBuilder

	subs   []*sub // in address order
	byAddr AddrMap[*sub]
	closed bool

	// What was last published: reported says whether anything was.
	reported bool
	state    connectivity.State
	ready    []balancer.SubConn
	lastErr  error // the last connection error of a subchannel
}

// sub is one subchannel and what the balancer knows of it.
type sub struct {
	addr resolver.Address
	sc   balancer.SubConn
	// eff is the state the subchannel counts as: its own, except that
	// TRANSIENT_FAILURE lasts until READY and IDLE counts as CONNECTING
	// (the balancer reconnects at once).
	eff connectivity.State
}

// NewBalancer returns a Balancer for cc; policy names it in errors.
func NewBalancer(cc balancer.ClientConn, policy string, build PickerBuilder) *Balancer {
	return &Balancer{cc: cc, policy: policy, build: build}
}

// UpdateClientConnState makes a subchannel for each new address, shuts
// down those of addresses that are gone and publishes a new state and
// picker. The balancer config is not read. An empty address list shuts
// every subchannel down, reports TRANSIENT_FAILURE and returns
// balancer.ErrBadResolverState.
func (b *Balancer) UpdateClientConnState(s balancer.ClientConnState) error {
	if b.closed {
		return nil
	}
	addrs := Dedupe(Flatten(s.ResolverState))
	if len(addrs) == 0 {
		b.shutdownAll()
		b.fail(FailureError(b.policy+": the resolver produced no address", nil))
		return balancer.ErrBadResolverState
	}
	var keep AddrMap[*sub]
	subs := make([]*sub, 0, len(addrs))
	var newErr error
	for _, a := range addrs {
		if old, ok := b.byAddr.Get(a); ok {
			keep.Set(a, old)
			subs = append(subs, old)
			continue
		}
		n, err := b.newSub(a)
		if err != nil {
			newErr = err
			continue
		}
		keep.Set(a, n)
		subs = append(subs, n)
	}
	for _, old := range b.subs {
		if _, ok := keep.Get(old.addr); !ok {
			old.sc.Shutdown()
		}
	}
	b.subs, b.byAddr = subs, keep
	if len(subs) == 0 {
		b.fail(FailureError(b.policy+": no subchannel could be made", newErr))
		return newErr
	}
	for _, n := range subs {
		if n.eff == connectivity.Idle {
			n.eff = connectivity.Connecting
			n.sc.Connect()
		}
	}
	// Publish even if the READY set is the same: the picker may depend on
	// a config that changed with this update.
	b.publish(true, false)
	return nil
}

// newSub makes the subchannel of a.
func (b *Balancer) newSub(a resolver.Address) (*sub, error) {
	n := &sub{addr: a, eff: connectivity.Idle}
	sc, err := b.cc.NewSubConn([]resolver.Address{a}, balancer.NewSubConnOptions{
		StateListener:      func(st balancer.SubConnState) { b.updateSubConnState(n, st) },
		HealthCheckEnabled: true,
	})
	if err != nil {
		return nil, err
	}
	n.sc = sc
	return n, nil
}

// updateSubConnState is the listener of n's subchannel.
func (b *Balancer) updateSubConnState(n *sub, st balancer.SubConnState) {
	if b.closed {
		return
	}
	if cur, ok := b.byAddr.Get(n.addr); !ok || cur != n {
		return // shut down by the balancer: its updates no longer count
	}
	failed := false
	switch st.ConnectivityState {
	case connectivity.Shutdown:
		return
	case connectivity.Idle:
		n.sc.Connect()
		if n.eff != connectivity.TransientFailure {
			n.eff = connectivity.Connecting
		}
	case connectivity.Connecting:
		if n.eff != connectivity.TransientFailure {
			n.eff = connectivity.Connecting
		}
	case connectivity.Ready:
		n.eff = connectivity.Ready
	case connectivity.TransientFailure:
		n.eff = connectivity.TransientFailure
		b.lastErr = st.ConnectionError
		failed = true
	}
	b.publish(false, failed)
}

// ResolverError reports TRANSIENT_FAILURE with err when the balancer has
// no subchannel or is already failing; otherwise it keeps serving the last
// good state.
func (b *Balancer) ResolverError(err error) {
	if b.closed || (len(b.subs) > 0 && b.state != connectivity.TransientFailure) {
		return
	}
	b.fail(FailureError(b.policy+": name resolver error", err))
}

// Close shuts every subchannel down.
func (b *Balancer) Close() {
	b.shutdownAll()
	b.closed = true
}

func (b *Balancer) shutdownAll() {
	for _, n := range b.subs {
		n.sc.Shutdown()
	}
	b.subs, b.byAddr = nil, AddrMap[*sub]{}
}

// fail publishes TRANSIENT_FAILURE with a picker failing with err.
func (b *Balancer) fail(err error) {
	b.setState(connectivity.TransientFailure, nil, NewErrPicker(err))
}

func (b *Balancer) setState(s connectivity.State, ready []balancer.SubConn, p balancer.Picker) {
	b.reported, b.state, b.ready = true, s, ready
	b.cc.UpdateState(balancer.State{ConnectivityState: s, Picker: p})
}

// publish reports the aggregate state if it changed, or if it is READY and
// the READY set changed or newConfig is set, or if it is TRANSIENT_FAILURE
// and newFailure is set (the picker then gives the new error).
func (b *Balancer) publish(newConfig, newFailure bool) {
	var ready []balancer.SubConn
	connecting := false
	for _, n := range b.subs {
		switch n.eff {
		case connectivity.Ready:
			ready = append(ready, n.sc)
		case connectivity.Idle, connectivity.Connecting:
			connecting = true
		}
	}
	changed := !b.reported
	switch {
	case len(ready) > 0:
		if changed || newConfig || b.state != connectivity.Ready || !slices.Equal(ready, b.ready) {
			b.setState(connectivity.Ready, ready, b.build(ready))
		}
	case connecting:
		if changed || b.state != connectivity.Connecting {
			b.setState(connectivity.Connecting, nil, NewErrPicker(balancer.ErrNoSubConnAvailable))
		}
	default:
		if changed || newFailure || b.state != connectivity.TransientFailure {
			b.fail(FailureError(b.policy+": every address failed, the last with", b.lastErr))
		}
	}
}
