package membership

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	cresolver "github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/manual"
	"github.com/h2rpc/h2rpc/gossip"
	pb "github.com/h2rpc/h2rpc/gossip/membership/membershippb"
	gresolver "github.com/h2rpc/h2rpc/gossip/resolver"
	"github.com/h2rpc/h2rpc/stub"
)

// Watcher follows a cluster through the Membership service of its
// members, from one stream at a time. It keeps its own table of members,
// so that a new stream, perhaps from another member, turns into the
// events that tell subscribers what changed meanwhile. Its methods are
// safe for concurrent use.
type Watcher struct {
	conn   *stub.ClientConn
	client pb.MembershipClient
	cancel context.CancelFunc
	done   chan struct{}

	// deliver is held while subscribers are called, so that they hear
	// events one at a time and in order; mu, which guards the table, is
	// not, so that Subscribe never waits for a subscriber.
	deliver sync.Mutex
	mu      sync.Mutex
	members map[string]gossip.Member
	subs    []*sub
	synced  chan struct{} // closed at the first snapshot
}

type sub struct{ f func(gossip.Event) }

// NewWatcher starts following the members that serve Membership at
// target, any gRPC target (several members behind one name, or one
// address), over a channel made with opts; pick_first moves to another
// address when one fails.
func NewWatcher(target string, opts ...stub.DialOption) (*Watcher, error) {
	conn, err := stub.NewClient(target, opts...)
	if err != nil {
		return nil, err
	}
	return watch(conn), nil
}

// NewWatcherOf is NewWatcher over a list of member addresses (host:port
// of their gRPC servers).
func NewWatcherOf(addrs []string, opts ...stub.DialOption) (*Watcher, error) {
	if len(addrs) == 0 {
		return nil, errors.New("membership: no member address to watch from")
	}
	r := manual.NewBuilderWithScheme("gossip-members")
	var s cresolver.State
	for _, a := range addrs {
		s.Addresses = append(s.Addresses, cresolver.Address{Addr: a})
	}
	r.InitialState(s)
	// The path names the channel's authority; an empty one would be sent
	// as an empty :authority, which servers refuse.
	return NewWatcher("gossip-members:///membership", append(slices.Clip(opts), stub.WithResolvers(r))...)
}

func watch(conn *stub.ClientConn) *Watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{conn: conn, client: pb.NewMembershipClient(conn), cancel: cancel, done: make(chan struct{}),
		members: map[string]gossip.Member{}, synced: make(chan struct{})}
	go w.run(ctx)
	return w
}

// Synced returns a channel closed once the first snapshot has arrived.
func (w *Watcher) Synced() <-chan struct{} { return w.synced }

// Subscribe returns the members the watcher knows now and calls f with
// every change after, in order, until cancel is called: what gossip:///
// resolvers need (a Watcher is a resolver.Source).
func (w *Watcher) Subscribe(f func(gossip.Event)) ([]gossip.Member, func()) {
	s := &sub{f: f}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.subs = append(slices.Clip(w.subs), s)
	out := make([]gossip.Member, 0, len(w.members))
	for _, m := range w.members {
		out = append(out, m)
	}
	return out, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if i := slices.Index(w.subs, s); i >= 0 {
			w.subs = slices.Delete(slices.Clone(w.subs), i, i+1)
		}
	}
}

// run keeps one stream open, waiting a moment between attempts.
func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if w.stream(ctx) {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// stream follows one Watch call until it ends; it reports whether a
// snapshot arrived.
func (w *Watcher) stream(ctx context.Context) bool {
	st, err := w.client.Watch(ctx, &pb.WatchRequest{}, stub.WaitForReady(true))
	if err != nil {
		return false
	}
	got := false
	for {
		resp, err := st.Recv()
		if err != nil {
			return got
		}
		switch k := resp.GetKind().(type) {
		case *pb.WatchResponse_Snapshot:
			got = true
			w.resync(k.Snapshot.GetMembers())
		case *pb.WatchResponse_Event:
			if got && k.Event.GetMember() != nil {
				w.apply(gossip.Event{Type: gossip.EventType(k.Event.GetType()), Member: fromProto(k.Event.GetMember())})
			}
		}
	}
}

// apply records an event and hands it to the subscribers of that moment.
func (w *Watcher) apply(e gossip.Event) {
	w.deliver.Lock()
	defer w.deliver.Unlock()
	w.mu.Lock()
	w.members[e.Member.Name] = e.Member
	subs := w.subs
	w.mu.Unlock()
	for _, s := range subs {
		s.f(e)
	}
}

// resync replaces the table with a snapshot and tells the subscribers
// the differences as events: members new or changed join or update,
// members gone are reported dead.
func (w *Watcher) resync(ms []*pb.Member) {
	var evs []gossip.Event
	w.mu.Lock()
	seen := make(map[string]bool, len(ms))
	for _, p := range ms {
		m := fromProto(p)
		seen[m.Name] = true
		old, ok := w.members[m.Name]
		switch {
		case !ok:
			evs = append(evs, gossip.Event{Type: eventFor(m, gossip.EventJoin), Member: m})
		case old.Incarnation != m.Incarnation || old.State != m.State || old.Addr != m.Addr || !sameMeta(old.Meta, m.Meta):
			evs = append(evs, gossip.Event{Type: eventFor(m, gossip.EventUpdate), Member: m})
		}
	}
	for name, old := range w.members {
		if !seen[name] && old.State <= gossip.StateSuspect {
			old.State = gossip.StateDead
			evs = append(evs, gossip.Event{Type: gossip.EventDead, Member: old})
		}
	}
	w.mu.Unlock()
	for _, e := range evs {
		w.apply(e)
	}
	select {
	case <-w.synced:
	default:
		close(w.synced)
	}
}

// eventFor is the event that brings a member to its snapshot state.
func eventFor(m gossip.Member, live gossip.EventType) gossip.EventType {
	switch m.State {
	case gossip.StateSuspect:
		return gossip.EventSuspect
	case gossip.StateDead:
		return gossip.EventDead
	case gossip.StateLeft:
		return gossip.EventLeave
	}
	return live
}

func sameMeta(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Close stops watching and closes the channel.
func (w *Watcher) Close() error {
	w.cancel()
	<-w.done
	return w.conn.Close()
}

// NewBuilder returns a builder of gossip resolvers for thin clients: a
// target gossip://host:port,host:port/service streams membership from the
// members at those gRPC addresses (over a channel made with opts, so TLS,
// mTLS and per-call credentials apply) and resolves service from it. Each
// resolver has a Watcher of its own, closed with it.
func NewBuilder(opts ...stub.DialOption) cresolver.Builder { return &thinBuilder{opts: opts} }

type thinBuilder struct{ opts []stub.DialOption }

// Scheme returns "gossip".
func (*thinBuilder) Scheme() string { return gresolver.Scheme }

// Build starts a Watcher of the target's members and a resolver over it.
func (b *thinBuilder) Build(t cresolver.Target, cc cresolver.ClientConn, o cresolver.BuildOptions) (cresolver.Resolver, error) {
	if t.URL.Host == "" {
		return nil, errors.New("membership: a thin client's target names the members to watch: gossip://host:port,host:port/service")
	}
	w, err := NewWatcherOf(strings.Split(t.URL.Host, ","), b.opts...)
	if err != nil {
		return nil, err
	}
	r, err := gresolver.NewBuilder(w).Build(t, cc, o)
	if err != nil {
		w.Close()
		return nil, err
	}
	return &thinResolver{Resolver: r, w: w}, nil
}

type thinResolver struct {
	cresolver.Resolver
	w *Watcher
}

// Close closes the resolver, then its Watcher.
func (r *thinResolver) Close() {
	r.Resolver.Close()
	r.w.Close()
}
