package gossip

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// gossipTick sends pending updates to GossipNodes random members.
func (n *Node) gossipTick() {
	n.schedule(n.cfg.GossipInterval, n.gossipTick)
	n.gossip()
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
		if i, ok := n.byName[name]; ok && n.table[i].state == StateDead {
			live = append(live, name)
		}
	}
	clear(n.dead[len(live):])
	n.dead = live
	if len(n.dead) > 0 {
		i := n.byName[n.dead[n.rng.IntN(len(n.dead))]]
		n.pushPull(n.table[i].id.Value().addr, false, nil)
	}
}

// stateBody encodes a push-pull message: our digest and, when full, every
// known member. It writes what appendMessage would for the same message,
// straight from the table. Call with mu held.
func (n *Node) stateBody(join, full bool) []byte {
	size := 16 + len(n.self.name)
	if full {
		size += 48 * len(n.byName)
	}
	b := make([]byte, 0, size)
	var f byte
	if join {
		f = 1
	}
	b = append(b, byte(msgPushPull), f)
	b = appendString(b, n.self.name)
	b = binary.BigEndian.AppendUint64(b, n.digest)
	if !full {
		return appendUvarint(b, 0)
	}
	b = appendUvarint(b, uint64(len(n.byName)))
	// Table order, not map order: a simulation must replay exactly.
	for i := range n.table {
		e := &n.table[i]
		if !e.used {
			continue
		}
		id := e.id.Value()
		b = append(b, byte(e.state))
		b = appendUvarint(b, uint64(e.inc))
		b = appendString(b, id.name)
		b = appendString(b, id.addr)
		b = appendString(b, id.meta)
	}
	return b
}

// merge applies a peer's full state; it reports whether it taught new
// members.
// Call with mu held.
func (n *Node) merge(m *message) bool {
	members := len(n.byName)
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
	learned := len(n.byName) > members
	if learned {
		n.startConverging()
	}
	return learned
}

// answerPushPull answers a push-pull: a bare digest equal to ours gets a
// bare digest back; anything else gets our full state, merged with theirs
// first so the answer is the union.
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
	full := m.digest != n.digest || m.join
	return n.sealStreamBody(n.stateBody(false, full))
}

// pushPull starts a push-pull with addr. A join sends our full state at
// once; otherwise a bare digest goes first and full state follows only if
// the views differ. done, if set, is called without the lock held.
func (n *Node) pushPull(addr string, join bool, done func(error)) {
	n.exchangeState(addr, n.stateBody(join, join), !join, done)
}

func (n *Node) exchangeState(addr string, body []byte, again bool, done func(error)) {
	b := n.sealStreamBody(body)
	n.tr.Exchange(addr, b, n.cfg.StreamTimeout, func(resp []byte, err error) {
		n.mu.Lock()
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
	switch {
	case m.digest == n.digest:
		// Same view as the peer: converged as far as we can tell.
		n.converging, n.fastRounds = false, 0
	case !n.converging:
		// Views still differ: keep exchanging at the fast pace.
		n.converging = true
		if d := n.jitterAround(n.cfg.FastSyncInterval); n.ppAt > n.now()+d {
			n.schedulePushPull(d)
		}
	}
	if again && m.digest != n.digest && !n.left {
		n.exchangeState(addr, n.stateBody(false, true), false, nil)
	}
	return nil
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
