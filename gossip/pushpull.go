package gossip

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// armGossip schedules a gossip round if none is: rounds run only while
// something is pending, so an idle cluster sends nothing but probes.
// Call with mu held.
func (n *Node) armGossip() {
	if !n.gossiping {
		n.gossiping = true
		n.schedule(n.jitter(n.cfg.GossipInterval)+1, n.gossipTick)
	}
}

// gossipTick sends pending updates to GossipNodes random members and
// schedules the next round while any remain.
func (n *Node) gossipTick() {
	n.gossip()
	if n.updates.len() > 0 || n.user.len() > 0 {
		n.schedule(n.cfg.GossipInterval, n.gossipTick)
		return
	}
	n.gossiping = false
}

// gossip sends one round of pending updates. Call with mu held.
func (n *Node) gossip() {
	if n.updates.len() == 0 && n.user.len() == 0 {
		return
	}
	for _, i := range n.randomMembers(n.cfg.GossipNodes, "") {
		if n.updates.len() == 0 && n.user.len() == 0 {
			return
		}
		n.sendPacket(n.table[i].id.Value().addr)
	}
}

// pushPullInterval is the base interval, stretched by log2 of the cluster
// size beyond 32 members, or FastSyncInterval while state converges.
func (n *Node) pushPullInterval() time.Duration {
	if n.converging {
		return n.cfg.FastSyncInterval
	}
	scale := 1.0
	if n.alive > 32 {
		scale = math.Ceil(math.Log2(float64(n.alive))-5) + 1
	}
	return time.Duration(scale * float64(n.cfg.PushPullInterval))
}

// maxFastRounds bounds the fast push-pulls in a row that teach nothing
// new, so that views which keep differing (a member flapping) do not keep
// everyone at the fast pace.
const maxFastRounds = 8

func (n *Node) pushPullTick() {
	if n.converging {
		n.fastRounds++
		if n.fastRounds > maxFastRounds {
			n.converging, n.fastRounds = false, 0
		}
	}
	n.schedulePushPull(n.jitterAround(n.pushPullInterval()))
	if n.left {
		return
	}
	if h := n.randomMembers(1, ""); len(h) == 1 {
		n.pushPull(n.table[h[0]].id.Value().addr, false, nil)
	}
}

// schedulePushPull sets the next periodic push-pull d from now.
func (n *Node) schedulePushPull(d time.Duration) {
	n.stop(n.ppTimer)
	n.ppAt = n.now() + d
	n.ppTimer = n.schedule(d, n.pushPullTick)
}

// startConverging switches to the fast push-pull pace, bringing the next
// push-pull forward if it is further away than that.
func (n *Node) startConverging() {
	n.converging = true
	n.fastRounds = 0
	if d := n.jitterAround(n.cfg.FastSyncInterval); n.ppAt > n.now()+d {
		n.schedulePushPull(d)
	}
}

// jitterAround returns d ± 25 %.
func (n *Node) jitterAround(d time.Duration) time.Duration {
	return d*3/4 + n.jitter(d/2+1)
}

// reconnectTick tries a member believed dead, or the join addresses when
// alone, so a member cut off by a partition finds the cluster again.
func (n *Node) reconnectTick() {
	n.schedule(n.jitterAround(n.cfg.ReconnectInterval), n.reconnectTick)
	if n.left {
		return
	}
	// Keep only the members still dead, then try one of them.
	live := n.dead[:0]
	for _, name := range n.dead {
		if i, ok := n.lookup(name); ok && n.table[i].state == StateDead {
			live = append(live, name)
		}
	}
	clear(n.dead[len(live):])
	n.dead = live
	if len(n.dead) > 0 {
		i, _ := n.lookup(n.dead[n.rng.IntN(len(n.dead))])
		n.reconnect(n.table[i].id.Value().addr)
	}
}

// Which member states a push-pull message carries.
const (
	statesNone = iota
	statesAll
	statesSome // those in the buckets marked in include
)

// stateBody encodes a push-pull message: our digest, bucket digests if
// buckets is set, and member states as chosen. It writes what
// appendMessage would for the same message, straight from the table. Call
// with mu held.
func (n *Node) stateBody(join bool, buckets []uint64, states int, include []bool) []byte {
	// Choose the members first, so the message is written once into a
	// buffer of about the right size.
	var chosen []int32
	if states != statesNone {
		mask := uint64(len(include) - 1)
		chosen = make([]int32, 0, len(n.index))
		for i := range n.table {
			e := &n.table[i]
			if !e.used {
				continue
			}
			if states == statesSome && !include[nameHash(e.name())&mask] {
				continue
			}
			chosen = append(chosen, int32(i))
		}
	}
	b := make([]byte, 0, 32+len(n.self.name)+8*len(buckets)+40*len(chosen))
	var f byte
	if join {
		f = 1
	}
	b = append(b, byte(msgPushPull), f)
	b = appendString(b, n.self.name)
	b = binary.BigEndian.AppendUint64(b, n.digest)
	b = appendUvarint(b, uint64(len(buckets)))
	for _, d := range buckets {
		b = binary.BigEndian.AppendUint64(b, d)
	}
	// Table order, not map order: a simulation must replay exactly.
	b = appendUvarint(b, uint64(len(chosen)))
	for _, i := range chosen {
		e := &n.table[i]
		id := e.id.Value()
		b = append(b, byte(e.state))
		b = appendUvarint(b, uint64(e.inc))
		b = appendString(b, id.name)
		b = appendString(b, id.addr)
		b = appendString(b, id.meta)
	}
	return b
}

// bucketsFor is the number of digest buckets for a cluster of n: about
// eight members a bucket, a power of two from 1 to 1024.
func bucketsFor(n int) int {
	b := 1
	for b < 1024 && b*8 < n {
		b *= 2
	}
	return b
}

// nameHash places a member in a bucket (FNV-1a, 64 bit, folded).
func nameHash(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return h ^ h>>32
}

// bucketDigests returns the digest of each of nb buckets: the XOR of the
// digests of its live members. Call with mu held.
func (n *Node) bucketDigests(nb int) []uint64 {
	d := make([]uint64, nb)
	mask := uint64(nb - 1)
	for i := range n.table {
		e := &n.table[i]
		if !e.used || e.state > StateSuspect {
			continue
		}
		name := e.name()
		d[nameHash(name)&mask] ^= digestOf(name, e.inc)
	}
	return d
}

// differing compares our bucket digests with a peer's (8-byte big-endian
// each) and marks the buckets that differ; it returns nil if the peer sent
// none or a different number.
func differing(mine []uint64, theirs []byte) []bool {
	if len(theirs) == 0 || len(theirs) != 8*len(mine) {
		return nil
	}
	out := make([]bool, len(mine))
	for i := range mine {
		out[i] = mine[i] != binary.BigEndian.Uint64(theirs[8*i:])
	}
	return out
}

// answerBody is what we send a peer whose view may differ from ours: the
// states in the buckets that differ if it sent bucket digests, else all.
// Call with mu held.
func (n *Node) answerBody(m *message) []byte {
	nb := len(m.buckets) / 8
	if nb == 0 || m.join {
		return n.stateBody(false, nil, statesAll, nil)
	}
	mine := n.bucketDigests(nb)
	return n.stateBody(false, mine, statesSome, differing(mine, m.buckets))
}

// merge applies a peer's full state; it reports whether it taught new
// members.
// Call with mu held.
func (n *Node) merge(m *message) bool {
	members := len(n.index)
	from := string(m.from)
	// Members new to us from a periodic push-pull are not gossiped on:
	// whoever learned of them first does that, and anti-entropy spreads
	// the rest. (A join is gossiped by the member it joined through.)
	n.quietMerge = !m.join
	defer func() { n.quietMerge = false }()
	for i := range m.states {
		s := &m.states[i]
		switch s.state {
		case StateAlive:
			n.handleAlive(s.inc, s.name, s.addr, s.meta)
		case StateSuspect:
			n.handleAlive(s.inc, s.name, s.addr, s.meta)
			n.handleSuspect(s.inc, string(s.name), from)
		case StateDead:
			n.handleDead(s.inc, string(s.name), from)
		case StateLeft:
			n.handleDead(s.inc, string(s.name), string(s.name))
		}
	}
	// Members never seen before mean views are still converging (a join,
	// a healed partition): push-pull at the fast pace until they are not.
	learned := len(n.index) > members
	if learned {
		n.startConverging()
	}
	return learned
}

// answerPushPull answers a push-pull: a digest equal to ours gets a bare
// digest back; a join gets our full state; otherwise the peer gets our
// states in the buckets whose digests differ from its own, with our bucket
// digests. States in the request are merged first, so the answer reflects
// the union.
func (n *Node) answerPushPull(from string, m *message) []byte {
	if len(m.from) == 0 {
		n.stats.Malformed++
		return nil
	}
	if n.pushPulls >= n.cfg.MaxConcurrentPushPull {
		n.stats.Refused++
		return nil
	}
	n.pushPulls++
	defer func() { n.pushPulls-- }()
	if len(m.states) > 0 {
		n.merge(m)
	}
	if m.digest == n.digest && !m.join {
		return n.sealStreamBody(n.stateBody(false, nil, statesNone, nil))
	}
	return n.sealStreamBody(n.answerBody(m))
}

// pushPull starts a push-pull with addr. A join sends our full state at
// once; otherwise our digest and bucket digests go first, the peer answers
// with what differs, and we push what it still lacks. done, if set, is called without the lock held.
func (n *Node) pushPull(addr string, join bool, done func(error)) {
	if !join && n.outgoing >= n.cfg.MaxConcurrentPushPull {
		// Bounded: periodic and reconnection push-pulls wait their
		// turn rather than pile up behind a slow network.
		return
	}
	if join {
		n.exchangeState(addr, n.stateBody(true, nil, statesAll, nil), false, done)
		return
	}
	buckets := n.bucketDigests(bucketsFor(n.alive))
	n.exchangeState(addr, n.stateBody(false, buckets, statesNone, nil), true, done)
}

func (n *Node) exchangeState(addr string, body []byte, again bool, done func(error)) {
	b := n.sealStreamBody(body)
	n.outgoing++
	n.tr.Exchange(addr, b, n.cfg.StreamTimeout, func(resp []byte, err error) {
		n.mu.Lock()
		n.outgoing--
		if !n.closed && err == nil {
			err = n.applyAnswer(addr, resp, again)
		}
		if n.closed {
			err = ErrClosed
		}
		n.unlock()
		if done != nil {
			done(err)
		}
	})
}

var errBadAnswer = errors.New("gossip: bad push-pull answer")

// applyAnswer merges a push-pull answer; if our view still differs from the
// peer's afterwards, it pushes our full state once. Call with mu held.
func (n *Node) applyAnswer(addr string, resp []byte, again bool) error {
	m, ok := n.openStream(resp)
	if !ok || m.typ != msgPushPull || len(m.from) == 0 {
		return errBadAnswer
	}
	n.stats.StreamsReceived++
	n.stats.StreamBytesReceived += uint64(len(resp))
	if len(m.states) > 0 {
		n.merge(&m)
	}
	if m.digest != n.digest {
		n.equalRounds = 0
	}
	switch {
	case m.digest == n.digest:
		// Same view as the peer. Twice in a row with random peers, and
		// we are probably converged: a group sharing the same partial
		// view rarely matches twice before meeting a fuller view.
		n.equalRounds++
		if n.equalRounds >= 2 {
			n.converging, n.fastRounds = false, 0
		}
	}
	// Views that differ without teaching us new members (a death still
	// spreading) do not start the fast pace: gossip is on it.
	if again && m.digest != n.digest && !n.left {
		// The peer lacks something we have: push it, in the buckets
		// that still differ.
		n.exchangeState(addr, n.answerBody(&m), false, nil)
	}
	return nil
}

// reconnect sends a member believed dead our bare digest: usually it is
// dead and nothing answers; if a partition healed, it answers with its
// full state and the views merge.
func (n *Node) reconnect(addr string) {
	if n.outgoing >= n.cfg.MaxConcurrentPushPull {
		return
	}
	n.exchangeState(addr, n.stateBody(false, nil, statesNone, nil), true, nil)
}

// JoinAsync contacts the given addresses with a push-pull each and calls
// done, without the lock held, with the number that answered.
func (n *Node) JoinAsync(addrs []string, done func(joined int, err error)) {
	n.mu.Lock()
	defer n.unlock()
	if n.closed {
		if done != nil {
			go done(0, ErrClosed)
		}
		return
	}
	n.startConverging()
	pending, joined := len(addrs), 0
	var last error
	if pending == 0 {
		if done != nil {
			go done(0, errors.New("gossip: no address to join"))
		}
		return
	}
	for _, a := range addrs {
		n.pushPull(a, true, func(err error) {
			n.mu.Lock()
			pending--
			if err == nil {
				joined++
			} else {
				last = err
			}
			finished, j, e := pending == 0, joined, last
			n.mu.Unlock()
			if finished && done != nil {
				if j > 0 {
					e = nil
				}
				done(j, e)
			}
		})
	}
}

// Join contacts the given addresses and returns how many answered. It
// blocks, so it must not be called on a SimClock's goroutine; use JoinAsync
// there.
func (n *Node) Join(addrs []string) (int, error) {
	type result struct {
		n   int
		err error
	}
	ch := make(chan result, 1)
	n.JoinAsync(addrs, func(j int, err error) { ch <- result{j, err} })
	r := <-ch
	return r.n, r.err
}
