package gossip

import (
	"fmt"
	"testing"
	"time"
)

// simCluster is a cluster of nodes on a SimClock and MemNetwork.
type simCluster struct {
	t     testing.TB
	clock *SimClock
	net   *MemNetwork
	nodes []*Node
	cfg   func(i int) Config
	seed  int64
}

func simConfig() Config {
	c := LAN()
	return c
}

func newSimCluster(t testing.TB, seed int64, cond Conditions, cfg func(i int) Config) *simCluster {
	clock := NewSimClock(time.Unix(1_700_000_000, 0))
	if cfg == nil {
		cfg = func(int) Config { return simConfig() }
	}
	return &simCluster{t: t, clock: clock, net: NewMemNetwork(clock, uint64(seed), cond), cfg: cfg, seed: seed}
}

func addrOf(i int) string { return fmt.Sprintf("10.0.%d.%d:7946", i/250, i%250+1) }

// start creates node i (again, if it was stopped).
func (c *simCluster) start(i int) *Node {
	c.t.Helper()
	cfg := c.cfg(i)
	cfg.Name = fmt.Sprintf("n%d", i)
	cfg.Clock = c.clock
	cfg.Transport = c.net.Transport(addrOf(i))
	cfg.Seed = c.seed*1_000_003 + int64(i) + 1 + int64(c.clock.Events())
	n, err := New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	for len(c.nodes) <= i {
		c.nodes = append(c.nodes, nil)
	}
	c.nodes[i] = n
	return n
}

// startAll starts n nodes that each join node 0.
func (c *simCluster) startAll(n int) {
	for i := 0; i < n; i++ {
		nd := c.start(i)
		if i > 0 {
			nd.JoinAsync([]string{addrOf(0)}, nil)
		}
	}
}

func (c *simCluster) run(d time.Duration) { c.clock.RunFor(d) }

// runUntil runs until cond holds, checking every step, up to max.
func (c *simCluster) runUntil(max, step time.Duration, cond func() bool) (time.Duration, bool) {
	for el := time.Duration(0); el <= max; el += step {
		if cond() {
			return el, true
		}
		c.run(step)
	}
	return max, cond()
}

func (c *simCluster) kill(i int) {
	c.nodes[i].Shutdown()
	c.nodes[i] = nil
}

func (c *simCluster) live() []*Node {
	var out []*Node
	for _, n := range c.nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// converged reports whether every live node sees exactly the live nodes
// alive.
func (c *simCluster) converged() bool {
	want := len(c.live())
	for _, n := range c.live() {
		if n.NumAlive() != want {
			return false
		}
	}
	return true
}

// stateOf returns what node obs believes about name.
func stateOf(obs *Node, name string) (State, bool) {
	m, ok := obs.Member(name)
	return m.State, ok
}

func (c *simCluster) shutdown() {
	for _, n := range c.live() {
		n.Shutdown()
	}
}
