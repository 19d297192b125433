package announcer

import (
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/gossip"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stub"
)

// simPair is two members on a simulated network: the announced one and
// an observer.
func simPair(t *testing.T) (*gossip.SimClock, *gossip.Node, *gossip.Node) {
	t.Helper()
	clock := gossip.NewSimClock(time.Unix(1_700_000_000, 0))
	nw := gossip.NewMemNetwork(clock, 1, gossip.Conditions{Delay: time.Millisecond})
	var nodes []*gossip.Node
	for i, name := range []string{"server", "observer"} {
		cfg := gossip.LAN()
		cfg.Name = name
		cfg.Clock = clock
		cfg.Transport = nw.Transport(name + ":7946")
		cfg.Seed = int64(i + 1)
		cfg.Meta = map[string]string{"zone": "a"}
		n, err := gossip.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Shutdown() })
		nodes = append(nodes, n)
	}
	nodes[1].JoinAsync([]string{"server:7946"}, nil)
	clock.RunFor(3 * time.Second)
	return clock, nodes[0], nodes[1]
}

func metaOf(t *testing.T, n *gossip.Node, name string) map[string]string {
	t.Helper()
	m, ok := n.Member(name)
	if !ok {
		t.Fatalf("%s does not know %s", n.Name(), name)
	}
	return m.Meta
}

// TestAnnouncesOnlyRealChanges: the metadata carries the address, the
// server's services, health and load beside the node's own keys; readings
// that do not change are not sent again, a change of health is sent once.
func TestAnnouncesOnlyRealChanges(t *testing.T) {
	leakcheck.Check(t)
	clock, node, observer := simPair(t)
	srv := stub.NewServer()
	srv.RegisterService(&stub.ServiceDesc{ServiceName: "b.Svc", HandlerType: (*any)(nil)}, nil)
	srv.RegisterService(&stub.ServiceDesc{ServiceName: "a.Svc", HandlerType: (*any)(nil)}, nil)
	load := NewLoad()
	util := 0.25
	var utilMu sync.Mutex
	load.SetUtilization(func() float64 { utilMu.Lock(); defer utilMu.Unlock(); return util })
	a, err := Start(node, srv, Options{RPCAddr: "10.0.0.1:50051", Load: load, Interval: 20 * time.Millisecond, LoadInterval: time.Hour, LeaveWait: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	clock.RunFor(2 * time.Second)
	got := metaOf(t, observer, "server")
	want := map[string]string{"zone": "a", gossip.MetaRPCAddr: "10.0.0.1:50051", gossip.MetaServices: "a.Svc,b.Svc", gossip.MetaHealth: gossip.HealthServing, gossip.MetaLoad: "0,0,0.25"}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("observer sees %v, want %v", got, want)
		}
	}
	time.Sleep(200 * time.Millisecond) // ten intervals of unchanged readings
	if n := a.Updates(); n != 1 {
		t.Fatalf("%d metadata updates for readings that never changed, want 1", n)
	}
	a.SetServing(false)
	for end := time.Now().Add(5 * time.Second); a.Updates() < 2 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := a.Updates(); n != 2 {
		t.Fatalf("%d metadata updates after one change of health, want 2", n)
	}
	clock.RunFor(2 * time.Second)
	if h := metaOf(t, observer, "server")[gossip.MetaHealth]; h != gossip.HealthNotServing {
		t.Fatalf("observer sees health %q, want %q", h, gossip.HealthNotServing)
	}
	// A real change of load alone waits for LoadInterval (an hour here).
	utilMu.Lock()
	util = 0.9
	utilMu.Unlock()
	time.Sleep(200 * time.Millisecond)
	if n := a.Updates(); n != 2 {
		t.Fatalf("%d metadata updates after a change of load within LoadInterval, want still 2", n)
	}
}

// TestGracefulStopLeavesFirst: GracefulStop of an announced server makes
// its member leave; the cluster sees it left, not dead.
func TestGracefulStopLeavesFirst(t *testing.T) {
	leakcheck.Check(t)
	clock, node, observer := simPair(t)
	srv := stub.NewServer()
	if _, err := Start(node, srv, Options{RPCAddr: "10.0.0.1:50051", Services: []string{"x.Svc"}, LeaveWait: -1}); err != nil {
		t.Fatal(err)
	}
	srv.GracefulStop()
	clock.RunFor(2 * time.Second)
	if m, _ := observer.Member("server"); m.State != gossip.StateLeft {
		t.Fatalf("after GracefulStop the observer sees the server %v, want left", m.State)
	}
}

func TestDiffers(t *testing.T) {
	base := gossip.Load{InFlight: 8, QPS: 100, Utilization: 0.5}
	for _, c := range []struct {
		l    gossip.Load
		want bool
	}{
		{base, false},
		{gossip.Load{InFlight: 9, QPS: 105, Utilization: 0.52}, false},
		{gossip.Load{InFlight: 8, QPS: 115, Utilization: 0.5}, true},
		{gossip.Load{InFlight: 8, QPS: 100, Utilization: 0.56}, true},
		{gossip.Load{InFlight: 12, QPS: 100, Utilization: 0.5}, true},
		{gossip.Load{InFlight: 0, QPS: 0.5, Utilization: 0}, true},
	} {
		if got := differs(c.l, base); got != c.want {
			t.Errorf("differs(%v, %v) = %v, want %v", c.l, base, got, c.want)
		}
	}
}

func TestStartChecksOptions(t *testing.T) {
	_, node, _ := simPair(t)
	for _, o := range []Options{{}, {RPCAddr: "x:1", Interval: -time.Second}, {RPCAddr: "x:1", Services: []string{"a,b"}}, {RPCAddr: "x:1", Services: []string{""}}} {
		if _, err := Start(node, nil, o); err == nil {
			t.Errorf("Start(%+v) succeeded", o)
		}
	}
}
