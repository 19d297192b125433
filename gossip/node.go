package gossip

import (
	"errors"
	"hash/maphash"
	"maps"
	"math"
	"math/rand/v2"
	"sync"
	"time"
	"unique"
)

// identity is what a member says about itself at one incarnation. It is
// interned, so that thousands of nodes in one process share one copy.
type identity struct {
	name, addr, meta string
}

// entry is a member in the local table.
type entry struct {
	id    unique.Handle[identity]
	inc   uint32
	state State
	used  bool
}

func (e *entry) name() string { return e.id.Value().name }

// ErrClosed is returned by operations on a Node that was shut down.
var ErrClosed = errors.New("gossip: node is shut down")

// Node is one member of a cluster. Its methods are safe for concurrent use.
type Node struct {
	cfg   Config
	clock Clock
	tr    Transport
	epoch time.Time

	mu     sync.Mutex
	evMu   sync.Mutex
	events []Event
	// subs are the subscribers (Subscribe), replaced whole under mu;
	// evSeq numbers the events queued so far, so that a subscriber added
	// while older events wait for delivery never sees them.
	subs   []*subscriber
	evSeq  uint64
	rng    *rand.Rand
	closed bool
	left   bool

	self   identity
	selfID unique.Handle[identity]
	inc    uint32
	// index maps a hash of each member's name to its place in table
	// (and in since, when its state last changed, in seconds since the
	// epoch). A hash collision is caught by comparing names; the second
	// member is then refused. Hash keys keep the index free of pointers,
	// which matters to the garbage collector with thousands of nodes in
	// one process.
	index   map[uint64]int32
	seed    maphash.Seed
	since   []uint32
	table   []entry
	free    []int32
	alive   int // alive or suspect members, self included
	digest  uint64
	order   []int32
	next    int
	dead    []string // recently dead members, for reconnection
	probeOf string   // a suspect to probe next, if any

	health int // Lifeguard local health multiplier, 0..MaxHealth-1
	seq    uint32
	probes map[uint32]*probe
	susp   map[string]*suspicion

	updates *queue
	user    *queue
	// application broadcasts: our sequence, and those recently seen
	userSeq  uint32
	packets  uint64 // packets filled, to keep an update out of a packet twice
	seenSet  map[userKey]struct{}
	seenRing []userKey
	seenNext int

	pushPulls   int  // push-pulls being answered
	outgoing    int  // push-pulls we started that have not finished
	gossiping   bool // a gossip round is scheduled
	converging  bool // the last push-pull taught something
	quietMerge  bool // merging a periodic push-pull
	fastRounds  int  // fast push-pulls since one last taught something
	equalRounds int  // push-pulls in a row that found the peer's view equal
	ppTimer     Timer
	ppAt        time.Duration // when ppTimer fires

	timers  []Timer
	scratch []message

	stats Stats
}

// Stats counts a node's traffic and what it dropped.
type Stats struct {
	PacketsSent, PacketsReceived uint64
	BytesSent, BytesReceived     uint64
	StreamsSent, StreamsReceived uint64
	StreamBytesSent              uint64
	StreamBytesReceived          uint64
	// Malformed counts packets and streams dropped as malformed.
	Malformed uint64
	// Unauthenticated counts packets and streams that no key opened, or
	// that were in clear while encryption is on, or sealed while it is off.
	Unauthenticated uint64
	// WrongLabel counts packets and streams from another cluster.
	WrongLabel uint64
	// Refused counts push-pulls refused for being over the limit.
	Refused uint64
	// Probes, ProbeFailures, Refutations count detector work.
	Probes, ProbeFailures, Refutations uint64
}

// New starts a node. It knows only itself until Join.
func New(cfg Config) (*Node, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = RealClock()
	}
	seed := uint64(cfg.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	n := &Node{
		cfg:     cfg,
		clock:   cfg.Clock,
		tr:      cfg.Transport,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		index:   make(map[uint64]int32),
		seed:    hashSeed,
		probes:  make(map[uint32]*probe),
		susp:    make(map[string]*suspicion),
		updates: newQueue(cfg.MaxQueue),
		user:    newQueue(cfg.MaxQueue),
		seenSet: make(map[userKey]struct{}),
	}
	n.epoch = n.clock.Now()
	n.self = identity{name: cfg.Name, addr: cfg.Transport.Addr(), meta: string(encodeMeta(cfg.Meta))}
	n.selfID = unique.Make(n.self)
	n.mu.Lock()
	n.setEntry(n.self.name, n.selfID, 0, StateAlive)
	// Announce ourselves: whoever we meet first spreads the word too.
	n.announceSelf()
	n.mu.Unlock()
	if err := n.tr.Start(n); err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.schedule(n.jitter(n.cfg.ProbeInterval), n.probeTick)
	n.schedulePushPull(n.jitter(n.cfg.PushPullInterval))
	n.schedule(n.jitter(n.cfg.ReconnectInterval), n.reconnectTick)
	n.unlock()
	return n, nil
}

// jitter returns a random duration in [0, d), to spread periodic work.
func (n *Node) jitter(d time.Duration) time.Duration {
	return time.Duration(n.rng.Int64N(int64(d)))
}

// schedule arranges f to run under the lock after d. Call with mu held.
func (n *Node) schedule(d time.Duration, f func()) Timer {
	var t Timer
	t = n.clock.AfterFunc(d, func() {
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return
		}
		n.forget(t)
		f()
		n.unlock()
	})
	n.timers = append(n.timers, t)
	return t
}

// forget removes a fired timer from the list Shutdown stops.
func (n *Node) forget(t Timer) {
	for i, x := range n.timers {
		if x == t {
			last := len(n.timers) - 1
			n.timers[i] = n.timers[last]
			n.timers[last] = nil
			n.timers = n.timers[:last]
			return
		}
	}
}

// stop cancels a scheduled call. Call with mu held.
func (n *Node) stop(t Timer) {
	if t != nil && t.Stop() {
		n.forget(t)
	}
}

// unlock releases mu and delivers queued events in order. One goroutine
// at a time delivers; the others leave their events to it, so OnEvent may
// call back into the Node without deadlock.
func (n *Node) unlock() {
	if len(n.events) == 0 || !n.watched() {
		n.events = n.events[:0]
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	for {
		if !n.evMu.TryLock() {
			return // the goroutine delivering will take ours too
		}
		for {
			n.mu.Lock()
			evs := n.events
			n.events = nil
			subs := n.subs
			n.mu.Unlock()
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				if n.cfg.OnEvent != nil {
					n.cfg.OnEvent(e)
				}
				for _, s := range subs {
					s.deliver(e)
				}
			}
		}
		n.evMu.Unlock()
		// Events queued between our last look and the unlock would
		// otherwise wait for the next unlock: look once more.
		n.mu.Lock()
		more := len(n.events) > 0
		n.mu.Unlock()
		if !more {
			return
		}
	}
}

func (n *Node) now() time.Duration { return n.clock.Now().Sub(n.epoch) }

// Name returns the node's member name.
func (n *Node) Name() string { return n.self.name }

// Addr returns the node's transport address.
func (n *Node) Addr() string { return n.self.addr }

// Incarnation returns the node's current incarnation number.
func (n *Node) Incarnation() uint32 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.inc
}

// Health returns the Lifeguard local health multiplier: 0 when healthy,
// up to MaxHealth-1 when this node keeps missing acks.
func (n *Node) Health() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.health
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// NumAlive returns the number of members believed alive or suspect,
// this node included.
func (n *Node) NumAlive() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.alive
}

// Members returns a snapshot of every known member, this node included,
// dead and departed members until they are forgotten.
func (n *Node) Members() []Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]Member, 0, len(n.index))
	for i := range n.table {
		if n.table[i].used {
			out = append(out, n.member(int32(i)))
		}
	}
	return out
}

// Member returns a snapshot of the named member.
func (n *Node) Member(name string) (Member, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	i, ok := n.lookup(name)
	if !ok {
		return Member{}, false
	}
	return n.member(i), true
}

func (n *Node) member(i int32) Member {
	e := &n.table[i]
	id := e.id.Value()
	return Member{
		Name:        id.name,
		Addr:        id.addr,
		Meta:        decodeMeta([]byte(id.meta)),
		Incarnation: e.inc,
		State:       e.state,
		Since:       n.epoch.Add(time.Duration(n.since[i]) * time.Second),
	}
}

// Offering returns the live members (alive, not suspect) that list
// service under MetaServices, this node included: what a resolver
// balances across.
func (n *Node) Offering(service string) []Member {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Member
	for i := range n.table {
		e := &n.table[i]
		if !e.used || e.state != StateAlive {
			continue
		}
		if m := n.member(int32(i)); m.Offers(service) {
			out = append(out, m)
		}
	}
	return out
}

// UpdateMeta replaces this node's metadata and disseminates it.
func (n *Node) UpdateMeta(meta map[string]string) error {
	b := encodeMeta(meta)
	if len(b) > maxMetaLen {
		return errors.New("gossip: metadata encodes to more than 1024 bytes")
	}
	n.mu.Lock()
	defer n.unlock()
	if n.closed {
		return ErrClosed
	}
	n.self.meta = string(b)
	n.refute(n.inc)
	return nil
}

// Broadcast disseminates an application message to every member, best
// effort, as part of gossip. It reaches members through the same
// piggybacking as membership updates but has its own share of every packet,
// so membership traffic never starves it.
func (n *Node) Broadcast(b []byte) error {
	if len(b) > n.cfg.PacketSize/2 {
		return errors.New("gossip: broadcast larger than half a packet")
	}
	n.mu.Lock()
	defer n.unlock()
	if n.closed {
		return ErrClosed
	}
	n.userSeq++
	m := message{typ: msgUser, from: []byte(n.self.name), seq: n.userSeq, payload: b}
	n.seen(userKey{n.self.name, n.userSeq})
	n.user.add("", appendMessage(nil, &m), false)
	n.armGossip()
	return nil
}

// userKey identifies an application broadcast.
type userKey struct {
	origin string
	seq    uint32
}

// seenBroadcasts is how many broadcast identities a node remembers.
const seenBroadcasts = 4096

// seen records a broadcast; it reports whether it was already recorded.
// Call with mu held.
func (n *Node) seen(k userKey) bool {
	if _, ok := n.seenSet[k]; ok {
		return true
	}
	if len(n.seenRing) == seenBroadcasts {
		delete(n.seenSet, n.seenRing[n.seenNext])
		n.seenRing[n.seenNext] = k
		n.seenNext = (n.seenNext + 1) % seenBroadcasts
	} else {
		n.seenRing = append(n.seenRing, k)
	}
	n.seenSet[k] = struct{}{}
	return false
}

// handleUser delivers an application broadcast not seen before and passes
// it on. Call with mu held.
func (n *Node) handleUser(m *message) {
	if n.seen(userKey{string(m.from), m.seq}) {
		return
	}
	n.user.add("", appendMessage(nil, m), false)
	n.armGossip()
	if n.cfg.OnMessage != nil {
		n.cfg.OnMessage(m.payload)
	}
}

// Leave announces that this node is leaving, so that others mark it left
// rather than dead, and sends the announcement at once to a few members.
// Keep the node running for a gossip interval or two before Shutdown.
func (n *Node) Leave() error {
	n.mu.Lock()
	defer n.unlock()
	if n.closed {
		return ErrClosed
	}
	n.left = true
	m := message{typ: msgDead, inc: n.inc, name: []byte(n.self.name), from: []byte(n.self.name)}
	n.queueUpdate(n.self.name, &m)
	n.gossip()
	return nil
}

// Shutdown stops the node without announcing anything and closes its
// transport. It returns after the transport's goroutines are gone.
func (n *Node) Shutdown() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	for _, t := range n.timers {
		t.Stop()
	}
	n.timers = nil
	for _, s := range n.susp {
		s.timer.Stop()
	}
	n.mu.Unlock()
	return n.tr.Close()
}

// hashSeed keys the member index; one per process.
var hashSeed = maphash.MakeSeed()

// lookup finds a member by name. Call with mu held.
func (n *Node) lookup(name string) (int32, bool) {
	i, ok := n.index[maphash.String(n.seed, name)]
	if !ok || n.table[i].name() != name {
		return 0, false
	}
	return i, true
}

// lookupBytes finds a member by name without converting it. Call with mu
// held.
func (n *Node) lookupBytes(name []byte) (int32, bool) {
	i, ok := n.index[maphash.Bytes(n.seed, name)]
	if !ok || n.table[i].name() != string(name) {
		return 0, false
	}
	return i, true
}

// setEntry records a member's state and returns its place in the table,
// or -1 if the member is new and its name hash collides with a known
// member's. Call with mu held.
func (n *Node) setEntry(name string, id unique.Handle[identity], inc uint32, st State) int32 {
	h := maphash.String(n.seed, name)
	i, ok := n.index[h]
	if ok && n.table[i].name() != name {
		return -1
	}
	if !ok {
		if k := len(n.free); k > 0 {
			i = n.free[k-1]
			n.free = n.free[:k-1]
		} else {
			i = int32(len(n.table))
			n.table = append(n.table, entry{})
			n.since = append(n.since, 0)
			// New members go to a random place in the probe order.
			n.order = append(n.order, i)
			j := n.rng.IntN(len(n.order))
			n.order[j], n.order[len(n.order)-1] = n.order[len(n.order)-1], n.order[j]
		}
		n.index[h] = i
	}
	e := &n.table[i]
	if ok && e.state <= StateSuspect {
		n.alive--
		n.digest ^= digestOf(name, e.inc)
	}
	e.id, e.inc, e.state, e.used = id, inc, st, true
	n.since[i] = uint32(n.now() / time.Second)
	if st <= StateSuspect {
		n.alive++
		n.digest ^= digestOf(name, inc)
	}
	return i
}

// remove forgets a member. Call with mu held.
func (n *Node) remove(name string) {
	i, ok := n.lookup(name)
	if !ok {
		return
	}
	e := &n.table[i]
	if e.state <= StateSuspect {
		n.alive--
		n.digest ^= digestOf(name, e.inc)
	}
	delete(n.index, maphash.String(n.seed, name))
	*e = entry{}
	n.free = append(n.free, i)
}

// digestOf hashes one live member for the state digest (FNV-1a, 64 bit).
func digestOf(name string, inc uint32) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	for i := 0; i < 4; i++ {
		h ^= uint64(byte(inc >> (8 * i)))
		h *= 1099511628211
	}
	return h
}

// retransmitLimit is how often each update is sent: RetransmitMult ×
// ceil(log10(n+1)).
func (n *Node) retransmitLimit() int {
	return n.cfg.RetransmitMult * int(math.Ceil(math.Log10(float64(n.alive+1))))
}

// scaled stretches d by the local health multiplier.
func (n *Node) scaled(d time.Duration) time.Duration {
	return d * time.Duration(n.health+1)
}

// emit queues an event for delivery after the lock is released.
func (n *Node) emit(t EventType, i int32) {
	if !n.watched() {
		return
	}
	n.evSeq++
	n.events = append(n.events, Event{Type: t, Member: n.member(i), seq: n.evSeq})
}

// randomMembers returns up to k random live members other than this node
// and the excluded one. Call with mu held.
func (n *Node) randomMembers(k int, exclude string) []int32 {
	var out []int32
	if k <= 0 || len(n.order) == 0 {
		return nil
	}
	// Sample from the probe order; bounded tries keep this O(k).
	for tries := 0; tries < 4*k+8 && len(out) < k; tries++ {
		i := n.order[n.rng.IntN(len(n.order))]
		e := &n.table[i]
		if !e.used || e.state > StateSuspect || e.id == n.selfID {
			continue
		}
		if name := e.name(); name == n.self.name || name == exclude {
			continue
		}
		dup := false
		for _, j := range out {
			dup = dup || j == i
		}
		if !dup {
			out = append(out, i)
		}
	}
	return out
}

// Snapshot is an immutable list of live members, made once and restored
// into any number of nodes cheaply (their identities are shared).
type Snapshot struct {
	entries []snapEntry

	once sync.Once
	pre  struct {
		index  map[uint64]int32
		table  []entry
		digest uint64
	}
}

// prebuilt returns the snapshot as a member table, built once: restoring
// into a node that knows only itself copies it wholesale.
func (s *Snapshot) prebuilt() (map[uint64]int32, []entry, uint64) {
	s.once.Do(func() {
		s.pre.index = make(map[uint64]int32, len(s.entries))
		for _, se := range s.entries {
			name := se.id.Value().name
			h := maphash.String(hashSeed, name)
			if i, ok := s.pre.index[h]; ok {
				if e := &s.pre.table[i]; e.id.Value().name == name && e.inc < se.inc {
					s.pre.digest ^= digestOf(name, e.inc) ^ digestOf(name, se.inc)
					e.id, e.inc = se.id, se.inc
				}
				continue
			}
			s.pre.index[h] = int32(len(s.pre.table))
			s.pre.table = append(s.pre.table, entry{id: se.id, inc: se.inc, state: StateAlive, used: true})
			s.pre.digest ^= digestOf(name, se.inc)
		}
	})
	return s.pre.index, s.pre.table, s.pre.digest
}

type snapEntry struct {
	id  unique.Handle[identity]
	inc uint32
}

// NewSnapshot makes a snapshot of the live members among members; others
// and invalid ones are left out.
func NewSnapshot(members []Member) *Snapshot {
	s := &Snapshot{entries: make([]snapEntry, 0, len(members))}
	for _, m := range members {
		if m.Name == "" || len(m.Name) > maxNameLen || len(m.Addr) > maxAddrLen {
			continue
		}
		if m.State != StateAlive && m.State != StateSuspect {
			continue
		}
		meta := encodeMeta(m.Meta)
		if len(meta) > maxMetaLen {
			continue
		}
		id := unique.Make(identity{name: m.Name, addr: m.Addr, meta: string(meta)})
		s.entries = append(s.entries, snapEntry{id: id, inc: m.Incarnation})
	}
	return s
}

// Len returns the number of members in the snapshot.
func (s *Snapshot) Len() int { return len(s.entries) }

// Snapshot returns the node's live members.
func (n *Node) Snapshot() *Snapshot {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := &Snapshot{entries: make([]snapEntry, 0, n.alive)}
	for i := range n.table {
		if e := &n.table[i]; e.used && e.state <= StateSuspect {
			s.entries = append(s.entries, snapEntry{id: e.id, inc: e.inc})
		}
	}
	return s
}

// restoreInto replaces a table that holds only this node with a copy of
// the snapshot's, then adds this node again; it reports false, changing
// nothing, if the snapshot holds this node. Call with mu held.
func (n *Node) restoreInto(s *Snapshot) bool {
	index, table, digest := s.prebuilt()
	if _, ok := index[maphash.String(n.seed, n.self.name)]; ok {
		return false
	}
	n.index = maps.Clone(index)
	n.table = append(make([]entry, 0, len(table)+1), table...)
	n.since = make([]uint32, len(table), len(table)+1)
	n.order = make([]int32, len(table), len(table)+1)
	for i := range n.order {
		n.order[i] = int32(i)
	}
	n.rng.Shuffle(len(n.order), func(a, b int) { n.order[a], n.order[b] = n.order[b], n.order[a] })
	n.next = 0
	n.digest, n.alive = digest, len(table)
	n.setEntry(n.self.name, n.selfID, n.inc, StateAlive)
	return true
}

// Restore adds the members of a snapshot (of an earlier run, of another
// node) as if a push-pull had taught them, without disseminating them or
// raising events. Members already known at the same or a higher
// incarnation, and this node itself, are left alone.
func (n *Node) Restore(s *Snapshot) {
	n.mu.Lock()
	defer n.unlock()
	if len(n.index) == 1 && len(n.free) == 0 && n.restoreInto(s) {
		return
	}
	if want := len(n.index) + len(s.entries); want > 2*len(n.index) {
		// Size the tables once rather than growing them member by member.
		index := make(map[uint64]int32, want)
		for k, v := range n.index {
			index[k] = v
		}
		n.index = index
		n.table = append(make([]entry, 0, want), n.table...)
		n.since = append(make([]uint32, 0, want), n.since...)
		n.order = append(make([]int32, 0, want), n.order...)
	}
	for _, se := range s.entries {
		name := se.id.Value().name
		if name == n.self.name {
			continue
		}
		if i, ok := n.lookup(name); ok && n.table[i].inc >= se.inc {
			continue
		}
		n.setEntry(name, se.id, se.inc, StateAlive)
	}
}
