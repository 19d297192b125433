package resolver

import (
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/balancer/loadaware"
	cresolver "github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/gossip"
)

// Scheme is the target scheme this package resolves.
const Scheme = "gossip"

// Source is where a resolver learns membership: a gossip node, or a thin
// client's stream from one.
type Source interface {
	// Subscribe returns the members known now and calls f with every
	// event that follows, in order, until cancel is called. It must not
	// wait for f to return, and f may be called before Subscribe returns.
	Subscribe(f func(gossip.Event)) (members []gossip.Member, cancel func())
}

// NewBuilder returns a builder of gossip:/// resolvers that follow src,
// typically a *gossip.Node (a member that serves nothing is a fine
// client). Give it to a channel with WithResolvers.
func NewBuilder(src Source) cresolver.Builder { return &builder{src: src} }

type builder struct{ src Source }

// Scheme returns "gossip".
func (*builder) Scheme() string { return Scheme }

// Build starts following the service named by the target's path.
func (b *builder) Build(t cresolver.Target, cc cresolver.ClientConn, _ cresolver.BuildOptions) (cresolver.Resolver, error) {
	service := t.Endpoint()
	if service == "" {
		return nil, errors.New("gossip resolver: the target names no service; write gossip:///package.Service")
	}
	r := &gossipResolver{service: service, cc: cc, members: map[string]gossip.Member{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
	// Events that follow the snapshot wait for it to be applied.
	r.mu.Lock()
	ms, cancel := b.src.Subscribe(r.event)
	for _, m := range ms {
		r.apply(m)
	}
	r.cancel = cancel
	r.mu.Unlock()
	r.kick <- struct{}{}
	go r.run()
	return r, nil
}

// gossipResolver follows one service. Events arrive on the source's
// goroutine and only change members; run pushes the latest state on a
// goroutine of its own, so a slow channel never holds the source up and a
// burst of events costs one update.
type gossipResolver struct {
	service string
	cc      cresolver.ClientConn
	cancel  func()

	mu      sync.Mutex
	members map[string]gossip.Member // by name, those worth listing
	heard   map[string]time.Time     // when each member's load was heard
	kick    chan struct{}
	done    chan struct{}
	closed  bool
}

func (r *gossipResolver) event(e gossip.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.apply(e.Member)
	select {
	case r.kick <- struct{}{}:
	default: // run has not taken the last kick yet; it will see this too
	}
}

// apply records m's latest state. Call with mu held.
func (r *gossipResolver) apply(m gossip.Member) {
	if m.State > gossip.StateSuspect || !m.Offers(r.service) || m.RPCAddr() == "" {
		delete(r.members, m.Name)
		delete(r.heard, m.Name)
		return
	}
	if old, ok := r.members[m.Name]; !ok || old.Meta[gossip.MetaLoad] != m.Meta[gossip.MetaLoad] {
		if r.heard == nil {
			r.heard = map[string]time.Time{}
		}
		r.heard[m.Name] = time.Now()
	}
	r.members[m.Name] = m
}

func (r *gossipResolver) run() {
	defer close(r.done)
	for range r.kick {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		s := r.state()
		r.mu.Unlock()
		r.cc.UpdateState(s)
	}
}

// state lists the members offering the service, by name: serving members
// that are alive first-class, suspects as a last resort. Call with mu
// held.
func (r *gossipResolver) state() cresolver.State {
	names := make([]string, 0, len(r.members))
	for name, m := range r.members {
		if m.Meta[gossip.MetaHealth] != gossip.HealthNotServing {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var s cresolver.State
	for _, name := range names {
		m := r.members[name]
		a := cresolver.Address{Addr: m.RPCAddr()}
		if m.State == gossip.StateSuspect {
			a = balancer.SetLastResort(a)
		}
		if f, ok := m.Load(); ok {
			a = loadaware.SetLoad(a, loadaware.Report{QPS: f.QPS, Utilization: f.Utilization, At: r.heard[name]})
		}
		a.BalancerAttributes = a.BalancerAttributes.WithValue(memberKey{}, name)
		s.Addresses = append(s.Addresses, a)
		s.Endpoints = append(s.Endpoints, cresolver.Endpoint{Addresses: []cresolver.Address{a}})
	}
	return s
}

type memberKey struct{}

// MemberOf returns the name of the gossip member a resolved address
// belongs to, for balancers and tools.
func MemberOf(a cresolver.Address) (string, bool) {
	name, ok := a.BalancerAttributes.Value(memberKey{}).(string)
	return name, ok
}

// ResolveNow does nothing: the resolver is told of every change as it
// happens.
func (*gossipResolver) ResolveNow(cresolver.ResolveNowOptions) {}

// Close stops following the cluster; the channel hears no more.
func (r *gossipResolver) Close() {
	r.cancel()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	close(r.kick)
	r.mu.Unlock()
	<-r.done
}
