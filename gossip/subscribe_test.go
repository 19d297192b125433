package gossip

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// view is a watcher's picture of the cluster: a Subscribe snapshot with
// the events that followed it applied.
type view struct {
	mu     sync.Mutex
	states map[string]State
	log    []string
}

func newView(ms []Member) *view {
	v := &view{states: map[string]State{}}
	for _, m := range ms {
		v.states[m.Name] = m.State
	}
	return v
}

func (v *view) apply(e Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.states[e.Member.Name] = e.Member.State
	v.log = append(v.log, e.Type.String()+" "+e.Member.Name)
}

func (v *view) events() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.log)
}

func (v *view) equal(ms []Member) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.states) != len(ms) {
		return false
	}
	for _, m := range ms {
		if st, ok := v.states[m.Name]; !ok || st != m.State {
			return false
		}
	}
	return true
}

// TestSubscribersEachSeeEveryEvent: OnEvent and two subscribers, one added
// before the joins and one after, each end with the node's own view; a
// cancelled subscriber hears nothing more.
func TestSubscribersEachSeeEveryEvent(t *testing.T) {
	var onEvent []string
	c := newSimCluster(t, 7, Conditions{Delay: time.Millisecond}, func(i int) Config {
		cfg := simConfig()
		if i == 0 {
			cfg.OnEvent = func(e Event) { onEvent = append(onEvent, e.Type.String()+" "+e.Member.Name) }
		}
		return cfg
	})
	defer c.shutdown()
	n0 := c.start(0)
	snapA, cancelA := subscribeView(n0)
	defer cancelA()
	if len(snapA.states) != 1 {
		t.Fatalf("first snapshot holds %d members, want only the node itself", len(snapA.states))
	}
	for i := 1; i < 4; i++ {
		c.start(i).JoinAsync([]string{addrOf(0)}, nil)
	}
	if _, ok := c.runUntil(30*time.Second, 100*time.Millisecond, c.converged); !ok {
		t.Fatal("cluster of 4 did not converge")
	}
	snapB, cancelB := subscribeView(n0)
	if !snapB.equal(n0.Members()) {
		t.Fatal("second subscriber's snapshot is not the node's view")
	}
	c.kill(3)
	if _, ok := c.runUntil(60*time.Second, 100*time.Millisecond, func() bool {
		st, _ := stateOf(n0, "n3")
		return st == StateDead
	}); !ok {
		t.Fatal("n3 not declared dead by n0")
	}
	for name, v := range map[string]*view{"A": snapA, "B": snapB} {
		if !v.equal(n0.Members()) {
			t.Fatalf("subscriber %s ends with %v, node has %v", name, v.states, n0.Members())
		}
	}
	if !slices.Equal(snapA.events(), onEvent) {
		t.Fatalf("subscriber A saw %v, OnEvent %v", snapA.events(), onEvent)
	}
	if slices.Contains(snapB.events(), "join n1") {
		t.Fatalf("subscriber B saw a join older than its snapshot: %v", snapB.events())
	}
	if !slices.Contains(snapB.events(), "dead n3") {
		t.Fatalf("subscriber B missed n3's death: %v", snapB.events())
	}
	cancelB()
	cancelB()
	before := len(snapB.events())
	c.nodes[2].Leave()
	if _, ok := c.runUntil(30*time.Second, 100*time.Millisecond, func() bool {
		st, _ := stateOf(n0, "n2")
		return st == StateLeft
	}); !ok {
		t.Fatal("n2's leave did not reach n0")
	}
	if len(snapB.events()) != before {
		t.Fatalf("a cancelled subscriber received %v", snapB.events()[before:])
	}
	if !slices.Contains(snapA.events(), "leave n2") {
		t.Fatalf("subscriber A missed n2's leave: %v", snapA.events())
	}
}

// subscribeView subscribes a new view to n.
func subscribeView(n *Node) (*view, func()) {
	var v *view
	var ready sync.WaitGroup
	ready.Add(1)
	ms, cancel := n.Subscribe(func(e Event) { ready.Wait(); v.apply(e) })
	v = newView(ms)
	ready.Done()
	return v, cancel
}
