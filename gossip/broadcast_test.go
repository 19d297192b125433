package gossip

import (
	"fmt"
	"testing"
)

func upd(s string) []byte {
	return appendMessage(nil, &message{typ: msgUser, from: []byte(s), payload: []byte(s)})
}

func takeAll(q *queue, budget, limit int, packet uint64) []string {
	b, _ := q.take(nil, budget, limit, packet)
	var out []string
	decodeBody(b, func(m *message) { out = append(out, string(m.payload)) })
	return out
}

func TestQueueNewestAndLeastSentFirst(t *testing.T) {
	q := newQueue(100)
	q.add("a", upd("a"), false)
	q.add("b", upd("b"), false)
	one := len(upd("a"))
	if got := takeAll(q, one, 3, 1); fmt.Sprint(got) != "[b]" {
		t.Fatalf("first pick %v, want the newest", got)
	}
	// b was sent once; a never: a goes first now.
	if got := takeAll(q, one, 3, 2); fmt.Sprint(got) != "[a]" {
		t.Fatalf("second pick %v, want the least sent", got)
	}
	q.add("c", upd("c"), false)
	if got := takeAll(q, 10*one, 3, 3); len(got) != 3 || got[0] != "c" {
		t.Fatalf("got %v, want c (never sent) first, then a and b", got)
	}
}

func TestQueueRetiresAfterLimitAndSupersedes(t *testing.T) {
	q := newQueue(100)
	q.add("a", upd("a1"), false)
	q.add("a", upd("a2"), false) // supersedes a1
	for p := uint64(1); p <= 3; p++ {
		if got := takeAll(q, 1000, 3, p); fmt.Sprint(got) != "[a2]" {
			t.Fatalf("packet %d: %v", p, got)
		}
	}
	if q.len() != 0 || len(takeAll(q, 1000, 3, 4)) != 0 {
		t.Fatal("update not retired after its limit")
	}
}

func TestQueueNeverTwiceInOnePacket(t *testing.T) {
	q := newQueue(100)
	q.add("", upd("x"), false)
	b, _ := q.take(nil, 1000, 10, 7)
	b, _ = q.take(b, 1000, 10, 7)
	n := 0
	decodeBody(b, func(*message) { n++ })
	if n != 1 {
		t.Fatalf("update put in one packet %d times", n)
	}
}

func TestQueueBounded(t *testing.T) {
	q := newQueue(10)
	for i := 0; i < 1000; i++ {
		q.add(fmt.Sprint(i), upd(fmt.Sprint(i)), false)
	}
	if q.len() != 10 {
		t.Fatalf("queue holds %d, bound 10", q.len())
	}
	got := takeAll(q, 1<<20, 5, 1)
	if len(got) != 10 || got[0] != "999" {
		t.Fatalf("kept %v, want the 10 newest", got)
	}
}

// TestApplicationBroadcastsNotStarved fills the membership queue far
// beyond a packet and checks an application message still goes out in the
// very next packet.
func TestApplicationBroadcastsNotStarved(t *testing.T) {
	n, _ := fuzzNode(t, nil)
	n.mu.Lock()
	for i := 0; i < 500; i++ {
		m := message{typ: msgAlive, inc: 1, name: []byte(fmt.Sprintf("member-%04d", i)), addr: []byte("10.1.2.3:7946")}
		n.queueUpdate(string(m.name), &m)
	}
	n.mu.Unlock()
	n.Broadcast([]byte("app"))
	n.mu.Lock()
	body, _ := n.fill(nil, n.cfg.PacketSize-n.overhead())
	n.mu.Unlock()
	users, alive := 0, 0
	if err := decodeBody(body, func(m *message) {
		switch m.typ {
		case msgUser:
			users++
		case msgAlive:
			alive++
		}
	}); err != nil {
		t.Fatal(err)
	}
	if users != 1 || alive == 0 || len(body) > n.cfg.PacketSize-n.overhead() {
		t.Fatalf("packet of %d bytes: %d application messages, %d alive", len(body), users, alive)
	}
}
