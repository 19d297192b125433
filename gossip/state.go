package gossip

import (
	"math"
	"time"
	"unique"
)

// queueUpdate encodes m and queues it for dissemination about subject.
// Call with mu held.
func (n *Node) queueUpdate(subject string, m *message) {
	n.updates.add(subject, appendMessage(nil, m), m.typ == msgAlive)
	n.armGossip()
}

// refute raises this node's incarnation above inc and announces it alive.
// Call with mu held.
func (n *Node) refute(inc uint32) {
	if inc >= n.inc {
		n.inc = inc + 1
	} else {
		n.inc++
	}
	n.selfID = unique.Make(n.self)
	n.setEntry(n.self.name, n.selfID, n.inc, StateAlive)
	n.announceSelf()
}

func (n *Node) announceSelf() {
	m := message{typ: msgAlive, inc: n.inc, name: []byte(n.self.name), addr: []byte(n.self.addr), meta: []byte(n.self.meta)}
	n.queueUpdate(n.self.name, &m)
}

// handleAlive applies an alive message. Call with mu held.
func (n *Node) handleAlive(inc uint32, name, addr, meta []byte) {
	if string(name) == n.self.name {
		// Someone speaks for us with an incarnation we have not used, or
		// with other data: a stale view, or our previous life. Refute.
		if n.left {
			return
		}
		if inc > n.inc || (inc == n.inc && (string(addr) != n.self.addr || string(meta) != n.self.meta)) {
			n.stats.Refutations++
			n.refute(inc)
		}
		return
	}
	i, known := n.lookupBytes(name)
	var e *entry
	if known {
		e = &n.table[i]
		if inc <= e.inc {
			// Old news, or alive at the incarnation it died or left
			// at: only a higher incarnation changes anything.
			return
		}
	}
	if !validMeta(meta) || len(addr) == 0 {
		n.stats.Malformed++
		return
	}
	id := unique.Make(identity{name: string(name), addr: string(addr), meta: string(meta)})
	var prev State
	var prevID unique.Handle[identity]
	if known {
		prev, prevID = e.state, e.id
	}
	i = n.setEntry(id.Value().name, id, inc, StateAlive)
	if i < 0 {
		n.stats.Malformed++ // a name hash collision: refuse the newcomer
		return
	}
	n.clearSuspicion(id.Value().name)
	if known || !n.quietMerge {
		m := message{typ: msgAlive, inc: inc, name: name, addr: addr, meta: meta}
		n.queueUpdate(id.Value().name, &m)
	}
	switch {
	case !known || prev == StateDead || prev == StateLeft:
		n.emit(EventJoin, i)
	case prev == StateSuspect || prevID != id:
		n.emit(EventUpdate, i)
	}
}

// living returns a known member that is alive or suspect at no more than
// inc: one that news at inc can change. Call with mu held.
func (n *Node) living(name string, inc uint32) (int32, *entry, bool) {
	i, ok := n.lookup(name)
	if !ok {
		return 0, nil, false
	}
	e := &n.table[i]
	if inc < e.inc || e.state == StateDead || e.state == StateLeft {
		return 0, nil, false
	}
	return i, e, true
}

// handleSuspect applies a suspicion of name raised by from. Call with mu
// held.
func (n *Node) handleSuspect(inc uint32, name, from string) {
	if name == n.self.name {
		if n.left {
			return
		}
		if inc < n.inc {
			// Someone still suspects an earlier incarnation: our
			// refutation missed it. Announce again, so whatever we
			// send next (the ack to its probe, say) carries it.
			n.announceSelf()
			return
		}
		// Lifeguard: being suspected means we may be the slow one.
		n.stats.Refutations++
		n.adjustHealth(1)
		n.refute(inc)
		return
	}
	i, e, ok := n.living(name, inc)
	if !ok {
		return
	}
	if e.state == StateSuspect && inc == e.inc {
		if s := n.susp[name]; s != nil && s.confirm(from) {
			n.resetSuspicionTimer(name, s)
			m := message{typ: msgSuspect, inc: inc, name: []byte(name), from: []byte(from)}
			n.queueUpdate(name, &m)
		}
		return
	}
	n.setEntry(name, e.id, inc, StateSuspect)
	n.startSuspicion(name, inc, from)
	m := message{typ: msgSuspect, inc: inc, name: []byte(name), from: []byte(from)}
	n.queueUpdate(name, &m)
	n.emit(EventSuspect, i)
	if n.cfg.Lifeguard {
		// Probe the suspect at the next tick: always when the suspicion
		// is ours, else with a probability that keeps the expected
		// number of such probes small at any cluster size. The probe
		// carries the suspicion to the member (buddy system), whose
		// ack carries its refutation straight back; to a dead member
		// it is an independent confirmation.
		if from == n.self.name || (n.probeOf == "" && n.rng.Float64()*float64(n.alive) < 2*float64(n.cfg.IndirectChecks)) {
			n.probeOf = name
		}
	}
}

// handleDead applies a death (or, when from is name, a departure). Call
// with mu held.
func (n *Node) handleDead(inc uint32, name, from string) {
	if name == n.self.name {
		if n.left || inc < n.inc {
			return
		}
		n.stats.Refutations++
		n.refute(inc)
		return
	}
	i, e, ok := n.living(name, inc)
	if !ok {
		return
	}
	st, ev := StateDead, EventDead
	if from == name {
		st, ev = StateLeft, EventLeave
	}
	n.setEntry(name, e.id, inc, st)
	n.clearSuspicion(name)
	m := message{typ: msgDead, inc: inc, name: []byte(name), from: []byte(from)}
	n.queueUpdate(name, &m)
	n.emit(ev, i)
	n.scheduleReclaim(name, inc)
	if st == StateDead {
		if len(n.dead) >= 64 {
			n.dead = append(n.dead[:0], n.dead[1:]...)
		}
		n.dead = append(n.dead, e.name())
	}
}

// scheduleReclaim forgets a dead member after DeadReclaim unless it came
// back. Call with mu held.
func (n *Node) scheduleReclaim(name string, inc uint32) {
	n.schedule(n.cfg.DeadReclaim, func() {
		i, ok := n.lookup(name)
		if !ok {
			return
		}
		if e := &n.table[i]; e.inc == inc && e.state >= StateDead {
			n.remove(name)
		}
	})
}

// suspicion is a running suspicion timer with Lifeguard's confirmations.
type suspicion struct {
	inc        uint32
	start      time.Duration
	min, max   time.Duration
	k          int
	confirmers map[string]struct{}
	timer      Timer
	lastLook   bool // the final probe before declaring death was made
}

// confirm records an independent suspector; it reports whether from is new
// and counted.
func (s *suspicion) confirm(from string) bool {
	if len(s.confirmers) >= s.k+1 {
		return false
	}
	if _, ok := s.confirmers[from]; ok {
		return false
	}
	s.confirmers[from] = struct{}{}
	return true
}

// timeout is Lifeguard's dynamic suspicion timeout: it starts at max and
// falls logarithmically towards min as the k expected confirmations arrive.
func (s *suspicion) timeout() time.Duration {
	c := len(s.confirmers) - 1 // the first suspector is not a confirmation
	if c <= 0 || s.k <= 0 {
		if s.k <= 0 {
			return s.min
		}
		return s.max
	}
	frac := math.Log(float64(c)+1) / math.Log(float64(s.k)+1)
	t := s.max - time.Duration(frac*float64(s.max-s.min))
	if t < s.min {
		t = s.min
	}
	return t
}

// suspicionMin is SuspicionMult × max(1, log10(n)) × ProbeInterval.
func (n *Node) suspicionMin() time.Duration {
	scale := math.Max(1, math.Log10(float64(n.alive)))
	return time.Duration(n.cfg.SuspicionMult * scale * float64(n.cfg.ProbeInterval))
}

// startSuspicion starts the timer after which name is declared dead.
// Call with mu held.
func (n *Node) startSuspicion(name string, inc uint32, from string) {
	n.clearSuspicion(name)
	min := n.suspicionMin()
	s := &suspicion{inc: inc, start: n.now(), min: min, max: min, confirmers: map[string]struct{}{from: {}}}
	if n.cfg.Lifeguard {
		s.max = time.Duration(n.cfg.SuspicionMaxMult * float64(min))
		// Expect k independent confirmations, fewer in a small cluster.
		s.k = n.cfg.IndirectChecks
		if s.k > n.alive-2 {
			s.k = n.alive - 2
		}
		if s.k < 0 {
			s.k = 0
		}
	}
	n.susp[name] = s
	n.resetSuspicionTimer(name, s)
}

func (n *Node) resetSuspicionTimer(name string, s *suspicion) {
	n.stop(s.timer)
	wait := s.start + s.timeout() - n.now()
	s.timer = n.schedule(wait, func() { n.suspicionExpired(name, s) })
}

func (n *Node) suspicionExpired(name string, s *suspicion) {
	if n.susp[name] != s {
		return
	}
	i, ok := n.lookup(name)
	if !ok {
		delete(n.susp, name)
		return
	}
	e := &n.table[i]
	if e.state != StateSuspect || e.inc != s.inc {
		delete(n.susp, name)
		return
	}
	if n.cfg.Lifeguard && !s.lastLook && len(s.confirmers)-1 < s.k {
		// Unconfirmed by independent members: before declaring it
		// dead, probe it once more, the suspicion attached, in case
		// its refutation never reached us.
		s.lastLook = true
		n.probeOf = name
		n.stop(s.timer)
		s.timer = n.schedule(n.scaled(n.cfg.ProbeInterval)+2*n.scaled(n.cfg.ProbeTimeout), func() { n.suspicionExpired(name, s) })
		return
	}
	delete(n.susp, name)
	n.handleDead(s.inc, name, n.self.name)
}

func (n *Node) clearSuspicion(name string) {
	if s := n.susp[name]; s != nil {
		n.stop(s.timer)
		delete(n.susp, name)
	}
}

// adjustHealth moves the local health multiplier by delta within
// [0, MaxHealth-1]. Call with mu held.
func (n *Node) adjustHealth(delta int) {
	if !n.cfg.Lifeguard {
		return
	}
	n.health += delta
	if n.health < 0 {
		n.health = 0
	}
	if n.health > n.cfg.MaxHealth-1 {
		n.health = n.cfg.MaxHealth - 1
	}
}
