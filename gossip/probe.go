package gossip

import "time"

// probe is an outstanding ping: ours, or one we relay for another member.
type probe struct {
	target   string
	acked    bool
	nacks    int
	expected int // nacks expected from indirect probes
	// relay is set when we ping on behalf of another member: the
	// requester's address and sequence number.
	relay    string
	relaySeq uint32
	timer    Timer
}

func (n *Node) nextSeq() uint32 {
	n.seq++
	return n.seq
}

// probeTick probes the next member and schedules the following tick.
// Call with mu held.
func (n *Node) probeTick() {
	interval := n.scaled(n.cfg.ProbeInterval)
	n.schedule(interval, n.probeTick)
	if n.left {
		return
	}
	i, ok := n.nextTarget()
	if !ok {
		return
	}
	n.probeMember(i, interval)
}

// nextTarget picks the member to probe: a suspect we chose to re-probe,
// else the next live member in a shuffled round-robin order, reshuffled
// after each pass.
func (n *Node) nextTarget() (int32, bool) {
	if name := n.probeOf; name != "" {
		n.probeOf = ""
		if i, ok := n.lookup(name); ok && n.table[i].state == StateSuspect {
			return i, true
		}
	}
	for tries := 0; tries < len(n.order); tries++ {
		if n.next >= len(n.order) {
			n.next = 0
			n.rng.Shuffle(len(n.order), func(a, b int) { n.order[a], n.order[b] = n.order[b], n.order[a] })
		}
		i := n.order[n.next]
		n.next++
		e := &n.table[i]
		if !e.used || e.state > StateSuspect || e.name() == n.self.name {
			continue
		}
		return i, true
	}
	return 0, false
}

// probeMember pings member i; if no ack comes within ProbeTimeout it asks
// IndirectChecks members to ping it too, and tries a stream. Whatever has
// not answered by the end of the probe interval is suspected.
func (n *Node) probeMember(i int32, interval time.Duration) {
	e := &n.table[i]
	id := e.id.Value()
	n.stats.Probes++
	seq := n.nextSeq()
	p := &probe{target: id.name}
	n.probes[seq] = p
	ping := message{typ: msgPing, seq: seq, name: []byte(id.name)}
	if n.cfg.Lifeguard && e.state == StateSuspect {
		// Buddy system: tell a suspect of its suspicion directly.
		s := message{typ: msgSuspect, inc: e.inc, name: []byte(id.name), from: []byte(n.self.name)}
		n.sendPacket(id.addr, &ping, &s)
	} else {
		n.sendPacket(id.addr, &ping)
	}
	timeout := n.scaled(n.cfg.ProbeTimeout)
	n.schedule(timeout, func() {
		if p.acked {
			return
		}
		n.indirectProbe(seq, p, id, timeout)
	})
	// The probe ends when the indirect probes had as long as the direct
	// one, or at the end of the interval if that comes first.
	end := 2 * timeout
	if end >= interval {
		end = interval - time.Nanosecond
	}
	p.timer = n.schedule(end, func() {
		n.finishProbe(seq, p, id.name)
	})
}

// indirectProbe asks k members to ping the target, and pings it over a
// stream as well.
func (n *Node) indirectProbe(seq uint32, p *probe, id identity, remaining time.Duration) {
	helpers := n.randomMembers(n.cfg.IndirectChecks, id.name)
	req := message{typ: msgIndirectPing, seq: seq, name: []byte(id.name), addr: []byte(id.addr), nack: n.cfg.Lifeguard}
	for _, h := range helpers {
		n.sendPacket(n.table[h].id.Value().addr, &req)
	}
	if n.cfg.Lifeguard {
		p.expected = len(helpers)
	}
	if n.cfg.StreamFallback && remaining > 0 {
		ping := message{typ: msgPing, seq: seq, name: []byte(id.name)}
		b := n.sealStream(&ping)
		n.tr.Exchange(id.addr, b, remaining, func(resp []byte, err error) {
			n.mu.Lock()
			defer n.unlock()
			if n.closed || err != nil {
				return
			}
			m, ok := n.openStream(resp)
			if ok && m.typ == msgAck && m.seq == seq && n.probes[seq] == p {
				p.acked = true
			}
		})
	}
}

// finishProbe ends a probe at the end of its interval.
func (n *Node) finishProbe(seq uint32, p *probe, target string) {
	delete(n.probes, seq)
	if p.acked {
		n.adjustHealth(-1)
		if s := n.susp[target]; s != nil && s.lastLook {
			// The last look before declaring it dead found it
			// answering: its refutation went astray. Take it as
			// alive at the incarnation we know; if it is suspected
			// again, it will be probed again.
			if i, ok := n.lookup(target); ok && n.table[i].state == StateSuspect {
				n.clearSuspicion(target)
				n.setEntry(target, n.table[i].id, n.table[i].inc, StateAlive)
				n.emit(EventUpdate, i)
			}
		}
		return
	}
	n.stats.ProbeFailures++
	// Lifeguard: missing nacks mean our own link or our own processing is
	// the problem, not the target.
	if p.expected > 0 {
		if p.nacks < p.expected {
			n.adjustHealth(p.expected - p.nacks)
		}
	} else {
		n.adjustHealth(1)
	}
	i, ok := n.lookup(target)
	if !ok {
		return
	}
	e := &n.table[i]
	if e.state != StateAlive {
		if e.state == StateSuspect {
			// Still silent: our failed probe confirms the suspicion.
			n.handleSuspect(e.inc, target, n.self.name)
		}
		return
	}
	n.handleSuspect(e.inc, target, n.self.name)
}

// handlePing answers a ping addressed to us.
func (n *Node) handlePing(from string, m *message) {
	if string(m.name) != n.self.name {
		return
	}
	ack := message{typ: msgAck, seq: m.seq}
	n.sendPacket(from, &ack)
}

// handleIndirectPing pings a target on behalf of the requester, forwards
// the ack, and sends a nack if the target stays silent (Lifeguard).
func (n *Node) handleIndirectPing(from string, m *message) {
	if len(m.addr) == 0 {
		n.stats.Malformed++
		return
	}
	if len(n.probes) > 4096 {
		return // bounded: a flood of requests cannot grow this table
	}
	seq := n.nextSeq()
	p := &probe{target: string(m.name), relay: from, relaySeq: m.seq}
	n.probes[seq] = p
	ping := message{typ: msgPing, seq: seq, name: m.name}
	n.sendPacket(string(m.addr), &ping)
	timeout := n.scaled(n.cfg.ProbeTimeout)
	wantNack := m.nack
	n.schedule(timeout*4/5, func() {
		if !p.acked && wantNack {
			nack := message{typ: msgNack, seq: p.relaySeq}
			n.sendPacket(p.relay, &nack)
		}
	})
	n.schedule(timeout, func() { delete(n.probes, seq) })
}

func (n *Node) handleAck(m *message) {
	p := n.probes[m.seq]
	if p == nil || p.acked {
		return
	}
	p.acked = true
	if p.relay != "" {
		ack := message{typ: msgAck, seq: p.relaySeq}
		n.sendPacket(p.relay, &ack)
		delete(n.probes, m.seq)
	}
}

func (n *Node) handleNack(m *message) {
	if p := n.probes[m.seq]; p != nil && p.relay == "" {
		p.nacks++
	}
}
