package gossip

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

func TestJoinConverges(t *testing.T) {
	c := newSimCluster(t, 1, Conditions{Delay: time.Millisecond, Jitter: time.Millisecond}, nil)
	defer c.shutdown()
	c.startAll(16)
	el, ok := c.runUntil(30*time.Second, 100*time.Millisecond, c.converged)
	if !ok {
		for _, n := range c.live() {
			t.Logf("%s sees %d", n.Name(), n.NumAlive())
		}
		t.Fatal("16 members did not converge in 30s")
	}
	t.Logf("converged after %v", el)
}

func TestDetectsDeadMember(t *testing.T) {
	c := newSimCluster(t, 2, Conditions{Delay: time.Millisecond, Jitter: time.Millisecond}, nil)
	defer c.shutdown()
	c.startAll(16)
	if _, ok := c.runUntil(30*time.Second, 100*time.Millisecond, c.converged); !ok {
		t.Fatal("no convergence")
	}
	c.kill(5)
	el, ok := c.runUntil(30*time.Second, 100*time.Millisecond, func() bool {
		for _, n := range c.live() {
			if st, _ := stateOf(n, "n5"); st != StateDead {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatal("n5 not dead everywhere after 30s")
	}
	t.Logf("dead everywhere after %v", el)
}

// TestOnEventMayCallTheNode: an event handler that calls back into the
// node, from several goroutines at once, neither deadlocks nor loses
// events.
func TestOnEventMayCallTheNode(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	seen := map[string]int{}
	var self *Node
	nodes := netNodes(t, 3, func(c *Config) {
		if c.Name != "real0" {
			return
		}
		c.OnEvent = func(e Event) {
			_ = self.Members()
			_ = self.Broadcast([]byte("x"))
			mu.Lock()
			seen[e.Type.String()+" "+e.Member.Name]++
			mu.Unlock()
		}
	})
	self = nodes[0]
	defer func() {
		for _, n := range nodes {
			n.Shutdown()
		}
	}()
	var wg sync.WaitGroup
	for _, n := range nodes[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); n.Join([]string{nodes[0].Addr()}) }()
	}
	wg.Wait()
	if !eventually(10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen["join real1"] == 1 && seen["join real2"] == 1
	}) {
		t.Fatalf("events seen: %v", seen)
	}
}

// TestRestoreFastAndSlowPathsAgree restores one snapshot into a fresh node
// (copied wholesale) and into one that already knows a member (merged one
// by one): both end with the same view and digest.
func TestRestoreFastAndSlowPathsAgree(t *testing.T) {
	var members []Member
	for i := 0; i < 50; i++ {
		members = append(members, Member{Name: fmt.Sprintf("m%d", i), Addr: fmt.Sprintf("10.9.0.%d:1", i), Incarnation: uint32(i % 3)})
	}
	members = append(members, Member{Name: "m7", Addr: "10.9.0.7:1", Incarnation: 9}, Member{Name: "gone", State: StateDead})
	snap := NewSnapshot(members)
	a, _ := fuzzNode(t, nil) // knows "self" and "peer"
	b, _ := fuzzNode(t, nil)
	a.mu.Lock()
	a.remove("peer")
	a.mu.Unlock()
	a.Restore(snap) // fast path: only itself known... after removing peer, a free slot exists
	b.Restore(snap)
	c, _ := fuzzNode(t, nil)
	c.mu.Lock()
	c.remove("peer")
	c.free = nil
	c.table = c.table[:1]
	c.since = c.since[:1]
	c.order = []int32{0}
	c.mu.Unlock()
	c.Restore(snap) // fast path for real
	for _, n := range []*Node{a, c} {
		if n.NumAlive() != 51 {
			t.Fatalf("%d alive after restore, want 51", n.NumAlive())
		}
		m, _ := n.Member("m7")
		if m.Incarnation != 9 {
			t.Fatalf("m7 at incarnation %d, want the higher 9", m.Incarnation)
		}
	}
	if b.NumAlive() != 52 {
		t.Fatalf("b: %d alive, want 52 (with peer)", b.NumAlive())
	}
	a.mu.Lock()
	c.mu.Lock()
	if a.digest != c.digest {
		t.Fatal("fast and slow restores disagree on the digest")
	}
	var want uint64
	for i := range c.table {
		if e := &c.table[i]; e.used && e.state <= StateSuspect {
			want ^= digestOf(e.name(), e.inc)
		}
	}
	if want != c.digest || len(c.order) != len(c.table) {
		t.Fatalf("restored digest or probe order inconsistent: %d order, %d table", len(c.order), len(c.table))
	}
	c.mu.Unlock()
	a.mu.Unlock()
}
