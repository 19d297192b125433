package gossip

import (
	"fmt"
	"testing"
	"time"
)

// deadCounter counts, per observer, the members declared dead.
type deadCounter struct {
	dead map[string]map[string]bool // observer → subject
}

func countDeaths(c *simCluster) *deadCounter {
	d := &deadCounter{dead: map[string]map[string]bool{}}
	base := c.cfg
	c.cfg = func(i int) Config {
		cfg := base(i)
		name := fmt.Sprintf("n%d", i)
		cfg.OnEvent = func(e Event) {
			if e.Type == EventDead {
				if d.dead[name] == nil {
					d.dead[name] = map[string]bool{}
				}
				d.dead[name][e.Member.Name] = true
			}
		}
		return cfg
	}
	return d
}

func (d *deadCounter) total() int {
	n := 0
	for _, m := range d.dead {
		n += len(m)
	}
	return n
}

func (c *simCluster) startConverged(t *testing.T, n int) {
	t.Helper()
	c.startAll(n)
	if _, ok := c.runUntil(30*time.Second, 100*time.Millisecond, c.converged); !ok {
		t.Fatalf("%d members did not converge in 30s", n)
	}
}

func (c *simCluster) allSee(name string, st State) bool {
	for _, n := range c.live() {
		if n.Name() == name {
			continue
		}
		if s, ok := stateOf(n, name); !ok || s != st {
			return false
		}
	}
	return true
}

func TestNoFalsePositivesUnderLoss(t *testing.T) {
	for _, tc := range []struct {
		loss     float64
		fallback bool
	}{{0.05, true}, {0.10, true}, {0.05, false}, {0.10, false}} {
		loss := tc.loss
		c := newSimCluster(t, 11, Conditions{Delay: time.Millisecond, Jitter: 2 * time.Millisecond, Retransmit: 200 * time.Millisecond}, func(int) Config {
			cfg := LAN()
			cfg.StreamFallback = tc.fallback
			return cfg
		})
		d := countDeaths(c)
		c.startConverged(t, 48)
		c.net.SetConditions(Conditions{Loss: loss, Delay: time.Millisecond, Jitter: 2 * time.Millisecond, Retransmit: 200 * time.Millisecond})
		c.run(90 * time.Second)
		if d.total() != 0 {
			t.Errorf("loss %.0f%%, stream fallback %v: %d false dead declarations: %v", loss*100, tc.fallback, d.total(), d.dead)
		}
		var failures uint64
		for _, n := range c.live() {
			failures += n.Stats().ProbeFailures
		}
		c.shutdown()
		t.Logf("loss %.0f%%, stream fallback %v: no member declared dead; %d probes failed along the way", loss*100, tc.fallback, failures)
	}
}

func TestDetectionUnderLoss(t *testing.T) {
	c := newSimCluster(t, 12, Conditions{Loss: 0.1, Delay: time.Millisecond, Retransmit: 200 * time.Millisecond}, nil)
	defer c.shutdown()
	c.startConverged(t, 32)
	c.kill(7)
	el, ok := c.runUntil(20*time.Second, 100*time.Millisecond, func() bool { return c.allSee("n7", StateDead) })
	if !ok {
		t.Fatal("n7 not dead everywhere within 20s at 10% loss")
	}
	t.Logf("dead everywhere after %v", el)
}

// TestLifeguardSlowMembers runs the same scenario with members that handle
// messages late, with and without Lifeguard; Lifeguard must cut the false
// deaths of healthy members.
func TestLifeguardSlowMembers(t *testing.T) {
	healthyFP := func(lifeguard bool) int {
		c := newSimCluster(t, 21, Conditions{Delay: time.Millisecond, Jitter: 2 * time.Millisecond}, func(int) Config {
			cfg := LAN()
			cfg.Lifeguard = lifeguard
			return cfg
		})
		d := countDeaths(c)
		c.startConverged(t, 40)
		slow := map[string]bool{}
		for _, i := range []int{3, 9, 17, 25} {
			c.net.Transport(addrOf(i)).SetSlow(2 * time.Second)
			slow[fmt.Sprintf("n%d", i)] = true
		}
		c.run(60 * time.Second)
		c.shutdown()
		n := 0
		for _, subjects := range d.dead {
			for s := range subjects {
				if !slow[s] {
					n++
				}
			}
		}
		return n
	}
	off, on := healthyFP(false), healthyFP(true)
	t.Logf("healthy members declared dead: lifeguard off %d, on %d", off, on)
	if off == 0 {
		t.Fatal("scenario too mild: no false positives even without Lifeguard")
	}
	if on*10 > off {
		t.Fatalf("lifeguard cut false positives only from %d to %d", off, on)
	}
}

func TestMassJoin(t *testing.T) {
	c := newSimCluster(t, 13, Conditions{Delay: time.Millisecond, Jitter: 2 * time.Millisecond}, nil)
	defer c.shutdown()
	const n = 100
	c.start(0)
	for i := 1; i < n; i++ {
		at := time.Duration(i) * time.Second / n
		c.clock.AfterFunc(at, func() { c.start(i).JoinAsync([]string{addrOf(0)}, nil) })
	}
	el, ok := c.runUntil(30*time.Second, 50*time.Millisecond, func() bool { return len(c.live()) == n && c.converged() })
	if !ok {
		t.Fatal("mass join of 100 did not reach a full view in 30s")
	}
	if el > 5*time.Second {
		t.Fatalf("mass join of 100 took %v to reach a full view, want at most 5s", el)
	}
	t.Logf("full view everywhere %v after the first join", el)
}

func TestPartitionHeals(t *testing.T) {
	c := newSimCluster(t, 14, Conditions{Delay: time.Millisecond}, nil)
	defer c.shutdown()
	c.startConverged(t, 12)
	var a, b []string
	for i := 0; i < 12; i++ {
		if i%3 == 0 {
			b = append(b, addrOf(i))
		} else {
			a = append(a, addrOf(i))
		}
	}
	c.net.Partition(a, b)
	if _, ok := c.runUntil(90*time.Second, 100*time.Millisecond, func() bool { return c.nodes[1].NumAlive() == 8 && c.nodes[0].NumAlive() == 4 }); !ok {
		t.Fatalf("partition not detected: %d and %d alive", c.nodes[1].NumAlive(), c.nodes[0].NumAlive())
	}
	c.net.Partition()
	el, ok := c.runUntil(60*time.Second, 100*time.Millisecond, c.converged)
	if !ok {
		t.Fatal("cluster did not heal within 60s of the partition ending")
	}
	t.Logf("healed %v after the partition ended", el)
}

func TestIsolatedMemberRejoins(t *testing.T) {
	c := newSimCluster(t, 15, Conditions{Delay: time.Millisecond}, nil)
	defer c.shutdown()
	c.startConverged(t, 8)
	c.net.Partition(nil, []string{addrOf(5)})
	if _, ok := c.runUntil(30*time.Second, 100*time.Millisecond, func() bool { return c.allSee("n5", StateDead) }); !ok {
		t.Fatal("isolation not detected")
	}
	// Alone, n5 blames itself first (Lifeguard stretches its probes) and
	// gives up on the others only slowly; heal before it has.
	c.run(30 * time.Second)
	if h := c.nodes[5].Health(); h == 0 {
		t.Fatal("isolated member did not lower its own health")
	}
	inc := c.nodes[5].Incarnation()
	c.net.Partition()
	el, ok := c.runUntil(60*time.Second, 100*time.Millisecond, func() bool { return c.converged() && c.allSee("n5", StateAlive) })
	if !ok {
		t.Fatal("isolated member did not rejoin by itself")
	}
	if c.nodes[5].Incarnation() <= inc {
		t.Fatal("rejoined without raising its incarnation")
	}
	t.Logf("rejoined %v after the network healed", el)
}

func TestStreamFallbackKeepsUDPBlockedMemberAlive(t *testing.T) {
	c := newSimCluster(t, 16, Conditions{Delay: time.Millisecond}, nil)
	defer c.shutdown()
	d := countDeaths(c)
	c.startConverged(t, 8)
	c.net.Transport(addrOf(3)).BlockPackets(true)
	c.run(60 * time.Second)
	if d.total() != 0 {
		t.Fatalf("member reachable over streams declared dead: %v", d.dead)
	}
	// Without the fallback it is declared dead: the test can fail.
	c2 := newSimCluster(t, 16, Conditions{Delay: time.Millisecond}, func(int) Config {
		cfg := LAN()
		cfg.StreamFallback = false
		return cfg
	})
	defer c2.shutdown()
	c2.startConverged(t, 8)
	c2.net.Transport(addrOf(3)).BlockPackets(true)
	if _, ok := c2.runUntil(60*time.Second, 100*time.Millisecond, func() bool { return c2.allSee("n3", StateDead) }); !ok {
		t.Fatal("without the fallback the UDP-blocked member should be declared dead")
	}
}

func TestClusterLabelKeepsClustersApart(t *testing.T) {
	clock := NewSimClock(time.Unix(0, 0))
	nw := NewMemNetwork(clock, 1, Conditions{Delay: time.Millisecond})
	mk := func(name, label string) *Node {
		cfg := LAN()
		cfg.Name, cfg.Label, cfg.Clock, cfg.Transport, cfg.Seed = name, label, clock, nw.Transport(name), int64(len(name)+len(label))
		n, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	a1, a2 := mk("a1", "blue"), mk("a2", "blue")
	b1 := mk("b1", "green")
	defer a1.Shutdown()
	defer a2.Shutdown()
	defer b1.Shutdown()
	var joinErr error
	a2.JoinAsync([]string{"a1"}, nil)
	b1.JoinAsync([]string{"a1"}, func(_ int, err error) { joinErr = err })
	clock.RunFor(30 * time.Second)
	if a1.NumAlive() != 2 || a2.NumAlive() != 2 || b1.NumAlive() != 1 {
		t.Fatalf("alive: a1 %d a2 %d b1 %d", a1.NumAlive(), a2.NumAlive(), b1.NumAlive())
	}
	if joinErr == nil {
		t.Fatal("joining a cluster with another label succeeded")
	}
	if a1.Stats().WrongLabel == 0 {
		t.Fatal("wrong-label traffic not counted")
	}
}

func keyedCluster(t *testing.T, seed int64, keys func(i int) *Keyring) *simCluster {
	return newSimCluster(t, seed, Conditions{Delay: time.Millisecond}, func(i int) Config {
		cfg := LAN()
		cfg.Keyring = keys(i)
		return cfg
	})
}

func TestEncryptedCluster(t *testing.T) {
	good := key(7)
	c := keyedCluster(t, 17, func(i int) *Keyring {
		k := good
		if i == 5 {
			k = key(8) // an outsider with another key
		}
		r, _ := NewKeyring(k)
		return r
	})
	defer c.shutdown()
	c.startAll(6)
	c.run(20 * time.Second)
	for i, n := range c.live() {
		want := 5
		if i == 5 {
			want = 1
		}
		if n.NumAlive() != want {
			t.Fatalf("%s sees %d alive, want %d", n.Name(), n.NumAlive(), want)
		}
	}
	if c.nodes[0].Stats().Unauthenticated == 0 {
		t.Fatal("packets under the wrong key were not counted")
	}
}

func TestKeyRotationWithoutDowntime(t *testing.T) {
	rings := map[int]*Keyring{}
	c := keyedCluster(t, 18, func(i int) *Keyring {
		r, _ := NewKeyring(key(1))
		rings[i] = r
		return r
	})
	defer c.shutdown()
	d := countDeaths(c)
	c.startConverged(t, 10)
	step := func(f func(*Keyring) error) {
		for i := range rings {
			if err := f(rings[i]); err != nil {
				t.Fatal(err)
			}
			c.run(300 * time.Millisecond) // members change one at a time
		}
		c.run(5 * time.Second)
	}
	step(func(k *Keyring) error { return k.AddKey(key(2)) })
	step(func(k *Keyring) error { return k.UseKey(key(2)) })
	step(func(k *Keyring) error { return k.RemoveKey(key(1)) })
	if d.total() != 0 || !c.converged() {
		t.Fatalf("rotation disturbed the cluster: %d deaths", d.total())
	}
	// New traffic is under key 2 only: a member with just key 1 is shut out.
	for _, n := range c.live() {
		if n.Stats().Unauthenticated != 0 {
			t.Fatalf("%s dropped %d packets during the rotation", n.Name(), n.Stats().Unauthenticated)
		}
	}
}

func TestLeaveIsNotDeath(t *testing.T) {
	c := newSimCluster(t, 19, Conditions{Delay: time.Millisecond}, nil)
	defer c.shutdown()
	d := countDeaths(c)
	c.startConverged(t, 10)
	c.nodes[4].Leave()
	c.run(time.Second)
	c.kill(4)
	if _, ok := c.runUntil(10*time.Second, 100*time.Millisecond, func() bool { return c.allSee("n4", StateLeft) }); !ok {
		t.Fatal("departure not seen everywhere")
	}
	c.run(10 * time.Second)
	if d.total() != 0 {
		t.Fatalf("a departed member was declared dead: %v", d.dead)
	}
}

func TestRestartRejoinsWithHigherIncarnation(t *testing.T) {
	c := newSimCluster(t, 20, Conditions{Delay: time.Millisecond}, nil)
	defer c.shutdown()
	c.startConverged(t, 8)
	c.kill(6)
	if _, ok := c.runUntil(20*time.Second, 100*time.Millisecond, func() bool { return c.allSee("n6", StateDead) }); !ok {
		t.Fatal("n6 not declared dead")
	}
	n := c.start(6)
	n.JoinAsync([]string{addrOf(0)}, nil)
	if _, ok := c.runUntil(20*time.Second, 100*time.Millisecond, func() bool { return c.converged() && c.allSee("n6", StateAlive) }); !ok {
		t.Fatal("restarted member did not rejoin")
	}
	if n.Incarnation() == 0 {
		t.Fatal("restarted member rejoined at incarnation 0")
	}
	m, _ := c.nodes[1].Member("n6")
	if m.Incarnation != n.Incarnation() {
		t.Fatalf("others see incarnation %d, member has %d", m.Incarnation, n.Incarnation())
	}
}

func TestMetadataUpdateSpreads(t *testing.T) {
	c := newSimCluster(t, 22, Conditions{Delay: time.Millisecond}, func(i int) Config {
		cfg := LAN()
		cfg.Meta = map[string]string{MetaRPCAddr: fmt.Sprintf("10.0.0.%d:50051", i)}
		return cfg
	})
	defer c.shutdown()
	var updates int
	base := c.cfg
	c.cfg = func(i int) Config {
		cfg := base(i)
		cfg.OnEvent = func(e Event) {
			if e.Type == EventUpdate && e.Member.Name == "n2" && e.Member.Offers("greeter") {
				updates++
			}
		}
		return cfg
	}
	c.startConverged(t, 10)
	if m, _ := c.nodes[5].Member("n2"); m.RPCAddr() != "10.0.0.2:50051" {
		t.Fatalf("initial metadata not seen: %v", m.Meta)
	}
	if err := c.nodes[2].UpdateMeta(map[string]string{MetaRPCAddr: "10.0.0.2:50052", MetaServices: "greeter,echo"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.runUntil(10*time.Second, 100*time.Millisecond, func() bool { return updates == 9 }); !ok {
		t.Fatalf("%d of 9 members saw the update", updates)
	}
	if m, _ := c.nodes[7].Member("n2"); m.RPCAddr() != "10.0.0.2:50052" || len(m.Services()) != 2 {
		t.Fatalf("metadata after update: %v", m.Meta)
	}
}

func TestBroadcastReachesEveryone(t *testing.T) {
	got := map[int]int{}
	c := newSimCluster(t, 23, Conditions{Delay: time.Millisecond, Loss: 0.05}, nil)
	base := c.cfg
	c.cfg = func(i int) Config {
		cfg := base(i)
		cfg.OnMessage = func(b []byte) {
			if string(b) == "hello" {
				got[i]++
			}
		}
		return cfg
	}
	defer c.shutdown()
	c.startConverged(t, 30)
	if err := c.nodes[0].Broadcast([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	c.run(5 * time.Second)
	if len(got) != 29 {
		t.Fatalf("broadcast reached %d of 29 members", len(got))
	}
}
