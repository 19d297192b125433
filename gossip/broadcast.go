package gossip

// bcast is one pending update: an encoded message and how often it went out.
type bcast struct {
	subject string // the member it is about; "" for application messages
	b       []byte
	sent    int
	stale   bool // superseded by a newer update about the same member
	alive   bool
	packet  uint64 // the last packet it was put in
}

// queue holds pending updates in tiers by transmit count; within a tier the
// newest is at the end. Taking prefers the least sent, then the newest, as
// SWIM's dissemination analysis asks: fresh news spreads first.
type queue struct {
	tiers     [][]*bcast
	bySubject map[string]*bcast
	live      int
	stale     int
	max       int
}

func newQueue(max int) *queue {
	return &queue{bySubject: make(map[string]*bcast), max: max}
}

// add queues b, superseding any pending update about the same subject.
func (q *queue) add(subject string, b []byte, alive bool) {
	if subject != "" {
		if old := q.bySubject[subject]; old != nil {
			old.stale = true
			q.live--
			q.stale++
		}
	}
	it := &bcast{subject: subject, b: b, alive: alive}
	if subject != "" {
		q.bySubject[subject] = it
	}
	if len(q.tiers) == 0 {
		q.tiers = append(q.tiers, nil)
	}
	q.tiers[0] = append(q.tiers[0], it)
	q.live++
	if q.live > q.max {
		q.shed()
	}
	if q.stale > 64 && q.stale > q.live {
		q.compact()
	}
}

// shed drops the most sent and, among those, the oldest updates until the
// queue is within its bound.
func (q *queue) shed() {
	for t := len(q.tiers) - 1; t >= 0 && q.live > q.max; t-- {
		tier := q.tiers[t]
		i := 0
		for ; i < len(tier) && q.live > q.max; i++ {
			it := tier[i]
			if it.stale {
				q.stale--
				continue
			}
			q.drop(it)
		}
		q.tiers[t] = append(tier[:0], tier[i:]...)
	}
}

func (q *queue) drop(it *bcast) {
	q.live--
	if it.subject != "" && q.bySubject[it.subject] == it {
		delete(q.bySubject, it.subject)
	}
}

// compact removes superseded entries.
func (q *queue) compact() {
	for t, tier := range q.tiers {
		out := tier[:0]
		for _, it := range tier {
			if !it.stale {
				out = append(out, it)
			}
		}
		clear(tier[len(out):])
		q.tiers[t] = out
	}
	q.stale = 0
}

// len returns the number of pending updates.
func (q *queue) len() int { return q.live }

// take appends pending updates to dst while they fit in budget bytes and
// counts one transmission for each; updates sent limit times are retired.
// Updates already in packet (a number unique to the packet being filled)
// are left out. It reports whether an alive message was taken.
func (q *queue) take(dst []byte, budget, limit int, packet uint64) ([]byte, bool) {
	var moved []*bcast
	alive := false
	for t := 0; t < len(q.tiers) && budget > 2; t++ {
		tier := q.tiers[t]
		var skipped []*bcast
		i := len(tier) - 1
		for ; i >= 0 && budget > 2; i-- {
			it := tier[i]
			if it.stale {
				q.stale--
				continue
			}
			if len(it.b) > budget || it.packet == packet {
				skipped = append(skipped, it)
				if len(skipped) >= 8 {
					i--
					break
				}
				continue
			}
			dst = append(dst, it.b...)
			budget -= len(it.b)
			it.packet = packet
			alive = alive || it.alive
			it.sent++
			if it.sent >= limit {
				q.drop(it)
			} else {
				moved = append(moved, it)
			}
		}
		// Everything above i was taken, dropped or skipped; keep the
		// skipped ones, oldest first.
		tier = tier[:i+1]
		for j := len(skipped) - 1; j >= 0; j-- {
			tier = append(tier, skipped[j])
		}
		q.tiers[t] = tier
	}
	for _, it := range moved {
		for len(q.tiers) <= it.sent {
			q.tiers = append(q.tiers, nil)
		}
		q.tiers[it.sent] = append(q.tiers[it.sent], it)
	}
	return dst, alive
}
