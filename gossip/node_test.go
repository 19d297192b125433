package gossip

import (
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/gossip/internal/leaktest"
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
	leaktest.Check(t)
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
