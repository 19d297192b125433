package gossip

import (
	"testing"
	"time"
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
