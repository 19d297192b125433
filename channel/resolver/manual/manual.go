package manual

import (
	"sync"

	"github.com/h2rpc/h2rpc/channel/resolver"
)

// Resolver is a resolver.Builder that builds itself: every Build returns
// the same Resolver, bound to the ClientConn of that Build until Close.
// One Resolver serves one channel at a time (a channel leaving idle mode
// builds it again).
//
// Its methods may be called from any goroutine at any time: a state pushed
// before Build is handed to the channel when it builds the resolver, and
// states pushed while it is closed are kept for the next Build. Calls into
// the channel are made one at a time, under the Resolver's lock, so a
// channel must not call Build or Close from inside its UpdateState or
// ReportError.
type Resolver struct {
	// BuildCallback, if not nil, is called by Build with its arguments,
	// before the resolver hands the channel its last state. It runs under
	// the Resolver's lock, so it must not call the Resolver's methods.
	BuildCallback func(resolver.Target, resolver.ClientConn, resolver.BuildOptions)
	// UpdateStateCallback, if not nil, is called with what the channel's
	// UpdateState returned, each time the resolver pushes a state: on its
	// own goroutine after a Build, inline after UpdateState.
	UpdateStateCallback func(err error)
	// ResolveNowCallback, if not nil, is called by ResolveNow.
	ResolveNowCallback func(resolver.ResolveNowOptions)
	// CloseCallback, if not nil, is called by Close.
	CloseCallback func()

	// The callbacks must not be changed once the resolver may be built.

	scheme string

	mu sync.Mutex
	// cc is the channel while the resolver is built and not closed; nil
	// otherwise. lastCC is the channel of the last Build, for CC.
	cc, lastCC resolver.ClientConn
	// state is the last state pushed, handed to every Build.
	state *resolver.State
}

// NewBuilderWithScheme returns a manual resolver serving targets of
// scheme, its callbacks set to do nothing. Register it, or give it to one
// channel as its resolver builder.
func NewBuilderWithScheme(scheme string) *Resolver {
	return &Resolver{
		BuildCallback:       func(resolver.Target, resolver.ClientConn, resolver.BuildOptions) {},
		UpdateStateCallback: func(error) {},
		ResolveNowCallback:  func(resolver.ResolveNowOptions) {},
		CloseCallback:       func() {},
		scheme:              scheme,
	}
}

// InitialState sets the state Build hands to the channel, so that a
// program need not call UpdateState after creating its channel.
func (r *Resolver) InitialState(s resolver.State) {
	r.mu.Lock()
	r.state = &s
	r.mu.Unlock()
}

// Build binds r to cc and pushes the last state set with InitialState or
// UpdateState, if any, before it returns r.
func (r *Resolver) Build(target resolver.Target, cc resolver.ClientConn, opts resolver.BuildOptions) (resolver.Resolver, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The callback runs under the lock so that a state pushed from another
	// goroutine while it runs waits for it and goes to cc.
	if r.BuildCallback != nil {
		r.BuildCallback(target, cc, opts)
	}
	r.cc, r.lastCC = cc, cc
	if r.state != nil {
		err := cc.UpdateState(*r.state)
		if r.UpdateStateCallback != nil {
			// Build runs on the channel's behalf, which a callback that
			// waits for its test to read err must not block.
			go r.UpdateStateCallback(err)
		}
	}
	return r, nil
}

// Scheme returns the scheme given to NewBuilderWithScheme.
func (r *Resolver) Scheme() string { return r.scheme }

// ResolveNow calls ResolveNowCallback; the resolver itself has nothing to
// resolve.
func (r *Resolver) ResolveNow(o resolver.ResolveNowOptions) {
	if r.ResolveNowCallback != nil {
		r.ResolveNowCallback(o)
	}
}

// Close unbinds r from its channel, which it calls no more until the next
// Build, and calls CloseCallback.
func (r *Resolver) Close() {
	r.mu.Lock()
	r.cc = nil
	r.mu.Unlock()
	if r.CloseCallback != nil {
		r.CloseCallback()
	}
}

// UpdateState records s as the resolver's state and, while it is built,
// pushes it to the channel and calls UpdateStateCallback with the
// channel's answer. Before Build it is InitialState; after Close, s waits
// for the next Build.
func (r *Resolver) UpdateState(s resolver.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state = &s
	if r.cc == nil {
		return
	}
	err := r.cc.UpdateState(s)
	if r.UpdateStateCallback != nil {
		r.UpdateStateCallback(err)
	}
}

// ReportError tells the channel that resolving failed, while the resolver
// is built; otherwise it does nothing.
func (r *Resolver) ReportError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cc != nil {
		r.cc.ReportError(err)
	}
}

// CC returns the ClientConn of the last Build, even once closed, or nil
// before the first Build.
func (r *Resolver) CC() resolver.ClientConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastCC
}
