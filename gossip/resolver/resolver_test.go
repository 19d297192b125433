package resolver

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	cresolver "github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
	"github.com/h2rpc/h2rpc/gossip"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

// recorder is a channel as the resolver sees it: it keeps every state.
type recorder struct {
	mu     sync.Mutex
	states []string
}

// describe writes a state as "addr" per address, "addr?" for a last resort.
func describe(s cresolver.State) string {
	var out []string
	for _, a := range s.Addresses {
		d := a.Addr
		if balancer.IsLastResort(a) {
			d += "?"
		}
		out = append(out, d)
	}
	return strings.Join(out, ",")
}

func (r *recorder) UpdateState(s cresolver.State) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, describe(s))
	return nil
}
func (r *recorder) ReportError(error) {}
func (r *recorder) ParseServiceConfig(string) *serviceconfig.ParseResult {
	return nil
}

func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.states) == 0 {
		return "(none)"
	}
	return r.states[len(r.states)-1]
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.states)
}

// sim is a simulated cluster: a client member and servers.
type sim struct {
	t     *testing.T
	clock *gossip.SimClock
	net   *gossip.MemNetwork
	nodes map[string]*gossip.Node
}

func newSim(t *testing.T) *sim {
	clock := gossip.NewSimClock(time.Unix(1_700_000_000, 0))
	s := &sim{t: t, clock: clock, net: gossip.NewMemNetwork(clock, 1, gossip.Conditions{Delay: time.Millisecond}), nodes: map[string]*gossip.Node{}}
	t.Cleanup(func() {
		for _, n := range s.nodes {
			n.Shutdown()
		}
	})
	return s
}

func gossipAddr(name string) string { return name + ":7946" }

// start starts a member; rpc, if set, is the greeter address it offers.
func (s *sim) start(name, rpc string, key *gossip.Keyring) *gossip.Node {
	return s.startAt(name, gossipAddr(name), name, rpc, key)
}

// startAt starts a member called name at the transport address addr,
// known to the test as id.
func (s *sim) startAt(name, addr, id, rpc string, key *gossip.Keyring) *gossip.Node {
	s.t.Helper()
	cfg := gossip.LAN()
	cfg.Name = name
	cfg.Clock = s.clock
	cfg.Transport = s.net.Transport(addr)
	cfg.Seed = int64(len(s.nodes) + 1)
	cfg.Keyring = key
	if rpc != "" {
		cfg.Meta = map[string]string{gossip.MetaRPCAddr: rpc, gossip.MetaServices: "helloworld.Greeter,other.Service", gossip.MetaHealth: gossip.HealthServing}
	}
	n, err := gossip.New(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	if len(s.nodes) > 0 {
		n.JoinAsync([]string{gossipAddr("client")}, nil)
	}
	s.nodes[id] = n
	return n
}

func (s *sim) kill(name string) {
	s.nodes[name].Shutdown()
	delete(s.nodes, name)
}

// await runs the simulation until the recorder's last state is want.
func (s *sim) await(rec *recorder, want string, max time.Duration) time.Duration {
	s.t.Helper()
	for el := time.Duration(0); el <= max; el += 100 * time.Millisecond {
		// The resolver pushes on a goroutine of its own, in real time.
		for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); time.Sleep(time.Millisecond) {
			if rec.last() == want {
				return el
			}
		}
		s.clock.RunFor(100 * time.Millisecond)
	}
	s.t.Fatalf("after %v: state %q, want %q (states %q)", max, rec.last(), want, rec.all())
	return 0
}

func target(s string) cresolver.Target {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return cresolver.Target{URL: *u}
}

func build(t *testing.T, src Source, tgt string) (*recorder, cresolver.Resolver) {
	t.Helper()
	rec := &recorder{}
	r, err := NewBuilder(src).Build(target(tgt), rec, cresolver.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return rec, r
}

// TestFollowsJoinsSuspicionDeathLeaveAndHealth: servers appear as they
// join; one that stops answering becomes a last resort, then goes when it
// is declared dead; one that leaves goes at once; one that stops serving
// goes, and comes back when it serves again.
func TestFollowsJoinsSuspicionDeathLeaveAndHealth(t *testing.T) {
	leakcheck.Check(t)
	s := newSim(t)
	client := s.start("client", "", nil)
	rec, _ := build(t, client, "gossip:///helloworld.Greeter")
	for i := range 4 {
		s.start(fmt.Sprintf("s%d", i), fmt.Sprintf("10.0.0.%d:50051", i), nil)
	}
	s.await(rec, "10.0.0.0:50051,10.0.0.1:50051,10.0.0.2:50051,10.0.0.3:50051", 10*time.Second)

	s.kill("s3")
	s.await(rec, "10.0.0.0:50051,10.0.0.1:50051,10.0.0.2:50051,10.0.0.3:50051?", 10*time.Second)
	s.await(rec, "10.0.0.0:50051,10.0.0.1:50051,10.0.0.2:50051", 60*time.Second)

	s.nodes["s2"].Leave()
	s.await(rec, "10.0.0.0:50051,10.0.0.1:50051", 5*time.Second)

	meta := map[string]string{gossip.MetaRPCAddr: "10.0.0.1:50051", gossip.MetaServices: "helloworld.Greeter", gossip.MetaHealth: gossip.HealthNotServing}
	s.nodes["s1"].UpdateMeta(meta)
	s.await(rec, "10.0.0.0:50051", 5*time.Second)
	meta[gossip.MetaHealth] = gossip.HealthServing
	s.nodes["s1"].UpdateMeta(meta)
	s.await(rec, "10.0.0.0:50051,10.0.0.1:50051", 5*time.Second)
	meta[gossip.MetaServices] = "other.Service"
	s.nodes["s1"].UpdateMeta(meta)
	s.await(rec, "10.0.0.0:50051", 5*time.Second)
}

func TestBuildNeedsAService(t *testing.T) {
	s := newSim(t)
	client := s.start("client", "", nil)
	if _, err := NewBuilder(client).Build(target("gossip:///"), &recorder{}, cresolver.BuildOptions{}); err == nil {
		t.Fatal("Build of gossip:/// with no service succeeded")
	}
}

// TestKeyringKeepsOutsidersFromAddresses: in a cluster with a keyring, a
// node without the key (or with another key) that joins and offers the
// service, or that calls itself s0 and announces a new address for it
// again and again, changes nothing in a client's resolver, though its
// packets reach the members.
func TestKeyringKeepsOutsidersFromAddresses(t *testing.T) {
	leakcheck.Check(t)
	key, err := gossip.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	otherKey := make([]byte, 32)
	otherKey[0] = 1
	wrong, err := gossip.NewKeyring(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t)
	client := s.start("client", "", key)
	rec, _ := build(t, client, "gossip:///helloworld.Greeter")
	s.start("s0", "10.0.0.0:50051", key)
	s.start("s1", "10.0.0.1:50051", key)
	want := "10.0.0.0:50051,10.0.0.1:50051"
	s.await(rec, want, 10*time.Second)

	for i, kr := range []*gossip.Keyring{nil, wrong} {
		// An outsider offering the service at its own address...
		s.start(fmt.Sprintf("evil%d", i), "6.6.6.6:50051", kr)
		// ... and one calling itself s0, at a higher incarnation.
		imp := s.startAt("s0", gossipAddr(fmt.Sprintf("imp%d", i)), fmt.Sprintf("imp%d", i), "", kr)
		for range 3 {
			imp.UpdateMeta(map[string]string{gossip.MetaRPCAddr: "6.6.6.7:50051", gossip.MetaServices: "helloworld.Greeter"})
		}
	}
	s.clock.RunFor(30 * time.Second)
	time.Sleep(100 * time.Millisecond)
	for _, st := range rec.all() {
		if st != want && !strings.HasPrefix(want, st) {
			t.Fatalf("the resolver listed %q; outsiders must change nothing (want %q)", st, want)
		}
	}
	if got := rec.last(); got != want {
		t.Fatalf("state %q, want %q", got, want)
	}
	if st := client.Stats(); st.Unauthenticated == 0 {
		t.Fatal("the client dropped no unauthenticated packet: the outsiders never reached it, so the test proves nothing")
	}
	if n := client.NumAlive(); n != 3 {
		t.Fatalf("the client counts %d members alive, want 3 (itself, s0, s1)", n)
	}
}
