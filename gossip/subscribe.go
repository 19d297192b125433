package gossip

import "slices"

// subscriber is one Subscribe call: its function, and the number of the
// last event queued before it subscribed (it receives only later ones).
type subscriber struct {
	f    func(Event)
	from uint64
}

func (s *subscriber) deliver(e Event) {
	if e.seq > s.from {
		s.f(e)
	}
}

// watched reports whether anyone receives events. Call with mu held.
func (n *Node) watched() bool { return n.cfg.OnEvent != nil || len(n.subs) > 0 }

// Subscribe adds f to the functions that receive the node's membership
// events, beside Config.OnEvent, and returns a snapshot of every known
// member at the moment f was added, this node included: f receives exactly
// the events that follow that snapshot, in order, so that a watcher that
// starts from the snapshot and applies the events misses nothing and sees
// nothing twice.
//
// Events are delivered to every subscriber in turn, on the goroutine that
// delivers them to OnEvent; f must not block for long, and it may call the
// Node (Unsubscribe included). The returned cancel function removes f;
// after it returns, f is called no more by a delivery that starts later,
// though one under way may still reach it. Cancel may be called more than
// once.
func (n *Node) Subscribe(f func(Event)) (members []Member, cancel func()) {
	s := &subscriber{f: f}
	n.mu.Lock()
	s.from = n.evSeq
	// Replace the slice: a delivery under way keeps the one it read.
	n.subs = append(slices.Clip(n.subs), s)
	members = make([]Member, 0, len(n.index))
	for i := range n.table {
		if n.table[i].used {
			members = append(members, n.member(int32(i)))
		}
	}
	n.mu.Unlock()
	return members, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if i := slices.Index(n.subs, s); i >= 0 {
			n.subs = slices.Delete(slices.Clone(n.subs), i, i+1)
		}
	}
}
