package gossip

import (
	"errors"
	"math/rand/v2"
	"sync"
	"time"
)

// Conditions describe how a MemNetwork treats packets.
type Conditions struct {
	// Loss is the probability that a packet is dropped.
	Loss float64
	// Duplicate is the probability that a packet is delivered twice.
	Duplicate float64
	// Delay is the one-way latency; Jitter adds a uniform random extra
	// up to itself, which also reorders packets.
	Delay, Jitter time.Duration
	// Retransmit is what a lost segment costs a stream: streams are
	// reliable, so loss delays them by this much per loss.
	Retransmit time.Duration
}

// MemNetwork is an in-memory network of transports driven by a SimClock.
// It drops, delays, reorders and duplicates packets as its Conditions say,
// partitions members into groups, and slows chosen members down as if
// starved of CPU. It runs on the clock's goroutine; every decision comes
// from its seeded random source, so a simulation replays exactly.
type MemNetwork struct {
	clock *SimClock
	mu    sync.Mutex
	rng   *rand.Rand
	cond  Conditions
	ends  map[string]*MemTransport
}

// NewMemNetwork returns an empty network on clock.
func NewMemNetwork(clock *SimClock, seed uint64, cond Conditions) *MemNetwork {
	return &MemNetwork{
		clock: clock,
		rng:   rand.New(rand.NewPCG(seed, seed^0x5851f42d4c957f2d)),
		cond:  cond,
		ends:  make(map[string]*MemTransport),
	}
}

// SetConditions changes the conditions for packets sent from now on.
func (nw *MemNetwork) SetConditions(c Conditions) {
	nw.mu.Lock()
	nw.cond = c
	nw.mu.Unlock()
}

// Transport returns the transport at addr, creating it if needed. A
// transport that was closed can be started again, as by a restarted
// process.
func (nw *MemNetwork) Transport(addr string) *MemTransport {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	t := nw.ends[addr]
	if t == nil {
		t = &MemTransport{nw: nw, addr: addr}
		nw.ends[addr] = t
	}
	return t
}

// Partition puts each listed address in the group of its index; members
// in different groups cannot reach each other. Unlisted members are in
// group 0. Heal with Partition().
func (nw *MemNetwork) Partition(groups ...[]string) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for _, t := range nw.ends {
		t.group = 0
	}
	for g, addrs := range groups {
		for _, a := range addrs {
			if t := nw.ends[a]; t != nil {
				t.group = g
			}
		}
	}
}

// route decides the fate of one packet from a to b: whether it arrives,
// after how long, and whether a copy follows.
func (nw *MemNetwork) route(from *MemTransport, to string) (dst *MemTransport, delay time.Duration, dup bool, ok bool) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	dst = nw.ends[to]
	if dst == nil || dst.group != from.group || from.noPackets || dst.noPackets {
		return nil, 0, false, false
	}
	c := nw.cond
	if c.Loss > 0 && nw.rng.Float64() < c.Loss {
		return nil, 0, false, false
	}
	delay = nw.latency(c, dst)
	dup = c.Duplicate > 0 && nw.rng.Float64() < c.Duplicate
	return dst, delay, dup, true
}

func (nw *MemNetwork) latency(c Conditions, dst *MemTransport) time.Duration {
	d := c.Delay
	if c.Jitter > 0 {
		d += time.Duration(nw.rng.Int64N(int64(c.Jitter)))
	}
	return d + dst.slow
}

// streamLatency is a one-way stream delay: reliable, so each loss costs a
// retransmission.
func (nw *MemNetwork) streamLatency(dst *MemTransport) time.Duration {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	c := nw.cond
	d := nw.latency(c, dst)
	for i := 0; i < 8 && c.Loss > 0 && nw.rng.Float64() < c.Loss; i++ {
		d += c.Retransmit
	}
	return d
}

func (nw *MemNetwork) reachable(a *MemTransport, to string) (*MemTransport, bool) {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	dst := nw.ends[to]
	return dst, dst != nil && dst.group == a.group
}

// MemTransport is one member's endpoint on a MemNetwork.
type MemTransport struct {
	nw    *MemNetwork
	addr  string
	group int
	slow  time.Duration
	// noPackets drops every packet to and from the endpoint, as a
	// firewall that lets TCP through but not UDP.
	noPackets bool
	h         Handler
	up        bool
	// counters, read with Counters
	packets, bytes, streams, streamBytes uint64
}

var errUnreachable = errors.New("gossip: memnet: peer unreachable")

// Addr returns the transport's address.
func (t *MemTransport) Addr() string { return t.addr }

// Start attaches the handler and brings the endpoint up.
func (t *MemTransport) Start(h Handler) error {
	t.nw.mu.Lock()
	defer t.nw.mu.Unlock()
	if t.up {
		return errors.New("gossip: memnet: transport already started")
	}
	t.h, t.up = h, true
	return nil
}

// Close takes the endpoint down: it neither sends nor receives.
func (t *MemTransport) Close() error {
	t.nw.mu.Lock()
	defer t.nw.mu.Unlock()
	t.up, t.h = false, nil
	return nil
}

// SetSlow delays the handling of everything arriving at this endpoint by
// d, as when its process is starved of CPU.
func (t *MemTransport) SetSlow(d time.Duration) {
	t.nw.mu.Lock()
	t.slow = d
	t.nw.mu.Unlock()
}

// BlockPackets drops every packet to and from this endpoint while block is
// true; streams still pass, as through a firewall that blocks only UDP.
func (t *MemTransport) BlockPackets(block bool) {
	t.nw.mu.Lock()
	t.noPackets = block
	t.nw.mu.Unlock()
}

// Counters returns what the endpoint sent: packets and their bytes,
// streams and their bytes.
func (t *MemTransport) Counters() (packets, bytes, streams, streamBytes uint64) {
	t.nw.mu.Lock()
	defer t.nw.mu.Unlock()
	return t.packets, t.bytes, t.streams, t.streamBytes
}

func (t *MemTransport) handler() Handler {
	t.nw.mu.Lock()
	defer t.nw.mu.Unlock()
	if !t.up {
		return nil
	}
	return t.h
}

// SendPacket schedules delivery of a copy of b.
func (t *MemTransport) SendPacket(to string, b []byte) error {
	t.nw.mu.Lock()
	if !t.up {
		t.nw.mu.Unlock()
		return errors.New("gossip: memnet: transport is closed")
	}
	t.packets++
	t.bytes += uint64(len(b))
	t.nw.mu.Unlock()
	dst, delay, dup, ok := t.nw.route(t, to)
	if !ok {
		return nil
	}
	pkt := append([]byte(nil), b...)
	from := t.addr
	deliver := func() {
		if h := dst.handler(); h != nil {
			h.HandlePacket(from, pkt)
		}
	}
	t.nw.clock.AfterFunc(delay, deliver)
	if dup {
		t.nw.clock.AfterFunc(delay+t.nw.streamLatency(dst)/2, deliver)
	}
	return nil
}

// Exchange delivers req reliably unless the peer is down or partitioned
// away, in which case done gets an error at the timeout.
func (t *MemTransport) Exchange(to string, req []byte, timeout time.Duration, done func([]byte, error)) {
	t.nw.mu.Lock()
	t.streams++
	t.streamBytes += uint64(len(req))
	t.nw.mu.Unlock()
	clock := t.nw.clock
	finished := false
	finish := func(resp []byte, err error) {
		if !finished {
			finished = true
			done(resp, err)
		}
	}
	timer := clock.AfterFunc(timeout, func() { finish(nil, errors.New("gossip: memnet: exchange timed out")) })
	dst, ok := t.nw.reachable(t, to)
	if !ok {
		return
	}
	body := append([]byte(nil), req...)
	clock.AfterFunc(t.nw.streamLatency(dst), func() {
		h := dst.handler()
		if h == nil {
			return
		}
		if _, ok := t.nw.reachable(t, to); !ok {
			return
		}
		resp := h.HandleStream(t.addr, body)
		if resp == nil {
			clock.AfterFunc(t.nw.streamLatency(t), func() {
				if timer.Stop() {
					finish(nil, errUnreachable)
				}
			})
			return
		}
		t.nw.mu.Lock()
		dst.streamBytes += uint64(len(resp))
		t.nw.mu.Unlock()
		resp = append([]byte(nil), resp...)
		clock.AfterFunc(t.nw.streamLatency(t), func() {
			if t.handler() == nil {
				return
			}
			if timer.Stop() {
				finish(resp, nil)
			}
		})
	})
}
