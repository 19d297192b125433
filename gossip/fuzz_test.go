package gossip

import (
	"bytes"
	"testing"
	"time"
)

// fuzzNode returns a node on a simulated network that knows one peer.
func fuzzNode(tb testing.TB, keyring *Keyring) (*Node, *SimClock) {
	clock := NewSimClock(time.Unix(0, 0))
	nw := NewMemNetwork(clock, 1, Conditions{})
	cfg := LAN()
	cfg.Name, cfg.Clock, cfg.Transport, cfg.Seed, cfg.Keyring = "self", clock, nw.Transport("self:1"), 1, keyring
	n, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	n.Restore(NewSnapshot([]Member{{Name: "peer", Addr: "peer:1"}}))
	return n, clock
}

func packetSeeds() [][]byte {
	var seeds [][]byte
	for _, m := range sampleMessages() {
		if m.typ == msgPushPull {
			continue
		}
		p := appendHeader(nil, 0, "")
		seeds = append(seeds, appendMessage(p, &m))
	}
	p := appendHeader(nil, flagPriority, "")
	p = appendMessage(p, &message{typ: msgAlive, inc: 3, name: []byte("peer"), addr: []byte("peer:1")})
	p = appendMessage(p, &message{typ: msgSuspect, inc: 0, name: []byte("self"), from: []byte("peer")})
	p = appendMessage(p, &message{typ: msgPing, seq: 1, name: []byte("self")})
	return append(seeds, p, []byte{1, 0, 0}, []byte{1, 1, 0, 0, 0})
}

func FuzzHandlePacket(f *testing.F) {
	for _, s := range packetSeeds() {
		f.Add(s)
	}
	n, clock := fuzzNode(f, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		n.HandlePacket("peer:1", b)
		clock.RunFor(10 * time.Millisecond)
		n.mu.Lock()
		defer n.mu.Unlock()
		if len(n.probes) > 4096+1 || n.updates.len() > n.cfg.MaxQueue || n.user.len() > n.cfg.MaxQueue {
			t.Fatalf("unbounded state: %d probes, %d updates", len(n.probes), n.updates.len())
		}
		if n.alive < 1 || n.alive > len(n.index) {
			t.Fatalf("alive count %d of %d members", n.alive, len(n.index))
		}
	})
}

func FuzzHandleEncryptedPacket(f *testing.F) {
	k, _ := NewKeyring(key(3))
	n, clock := fuzzNode(f, k)
	for _, s := range packetSeeds() {
		_, _, body, _ := decodeHeader(s)
		n.mu.Lock()
		f.Add(n.seal(nil, s[1], body))
		n.mu.Unlock()
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		before := n.Stats()
		n.HandlePacket("peer:1", b)
		clock.RunFor(10 * time.Millisecond)
		after := n.Stats()
		if after.PacketsReceived != before.PacketsReceived+1 {
			t.Fatal("packet not counted")
		}
	})
}

func FuzzHandleStream(f *testing.F) {
	n, clock := fuzzNode(f, nil)
	n.mu.Lock()
	f.Add(n.sealStreamBody(n.stateBody(true, nil, statesAll, nil)))
	f.Add(n.sealStreamBody(n.stateBody(false, n.bucketDigests(4), statesNone, nil)))
	f.Add(n.sealStreamBody(n.stateBody(false, n.bucketDigests(2), statesSome, []bool{true, false})))
	f.Add(n.sealStream(&message{typ: msgPing, seq: 5, name: []byte("self")}))
	n.mu.Unlock()
	f.Fuzz(func(t *testing.T, b []byte) {
		resp := n.HandleStream("peer:1", b)
		clock.RunFor(10 * time.Millisecond)
		if resp == nil {
			return
		}
		// Whatever we answer is itself a well-formed stream message.
		n.mu.Lock()
		m, ok := n.openStream(resp)
		n.mu.Unlock()
		if !ok || (m.typ != msgAck && m.typ != msgPushPull) {
			t.Fatalf("malformed answer %x", resp)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	var buf bytes.Buffer
	writeFrame(&buf, []byte("hello"))
	f.Add(buf.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readFrame(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(got)+4 > len(b) {
			t.Fatalf("frame of %d bytes from %d bytes of input", len(got), len(b))
		}
	})
}
