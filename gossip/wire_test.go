package gossip

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
	"time"
)

func sampleMessages() []message {
	return []message{
		{typ: msgPing, seq: 300, name: []byte("n1")},
		{typ: msgIndirectPing, seq: 1<<32 - 1, name: []byte("n2"), addr: []byte("10.0.0.2:7946"), nack: true},
		{typ: msgIndirectPing, seq: 7, name: []byte("n2"), addr: []byte("10.0.0.2:7946")},
		{typ: msgAck, seq: 0},
		{typ: msgNack, seq: 99},
		{typ: msgAlive, inc: 12, name: []byte("n3"), addr: []byte("10.0.0.3:7946"), meta: encodeMeta(map[string]string{"rpc": "10.0.0.3:50051"})},
		{typ: msgSuspect, inc: 4, name: []byte("n4"), from: []byte("n5")},
		{typ: msgDead, inc: 4, name: []byte("n4"), from: []byte("n4")},
		{typ: msgUser, from: []byte("n1"), seq: 3, payload: []byte("hello")},
		{typ: msgPushPull, join: true, from: []byte("n6"), digest: 0xdeadbeefcafebabe, buckets: make([]byte, 16), states: []wireState{
			{state: StateAlive, inc: 1, name: []byte("a"), addr: []byte("x:1")},
			{state: StateLeft, inc: 9, name: []byte("b"), addr: []byte("y:2"), meta: encodeMeta(map[string]string{"services": "greeter"})},
		}},
	}
}

// normalize makes empty and nil slices compare equal.
func normalize(m message) message {
	fix := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return b
	}
	m.name, m.addr, m.from, m.meta, m.payload = fix(m.name), fix(m.addr), fix(m.from), fix(m.meta), fix(m.payload)
	if len(m.states) == 0 {
		m.states = nil
	}
	if len(m.buckets) == 0 {
		m.buckets = nil
	}
	for i := range m.states {
		s := &m.states[i]
		s.name, s.addr, s.meta = fix(s.name), fix(s.addr), fix(s.meta)
	}
	return m
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b := appendMessage(nil, &m)
		got, rest, err := decodeMessage(b)
		if err != nil {
			t.Fatalf("%v: %v", m.typ, err)
		}
		if len(rest) != 0 {
			t.Fatalf("%v: %d bytes left", m.typ, len(rest))
		}
		if !reflect.DeepEqual(normalize(got), normalize(m)) {
			t.Fatalf("%v: got %+v want %+v", m.typ, got, m)
		}
		// Every proper prefix is truncated, never a panic or a success
		// that reads past the end.
		for i := 0; i < len(b); i++ {
			if _, _, err := decodeMessage(b[:i]); err == nil && i < len(b) {
				got, rest, _ := decodeMessage(b[:i])
				t.Fatalf("%v: prefix %d decoded as %+v rest %d", m.typ, i, got, len(rest))
			}
		}
	}
}

// TestSpecExamplePing checks the example in SPEC.md section 2.
func TestSpecExamplePing(t *testing.T) {
	m := message{typ: msgPing, seq: 300, name: []byte("n1")}
	b := appendHeader(nil, 0, "")
	b = appendMessage(b, &m)
	if got, want := hex.EncodeToString(b), "010000"+"01ac02026e31"; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := map[string][]byte{
		"unknown type":       {0x63},
		"empty name":         {byte(msgPing), 1, 0},
		"seq over 32 bits":   {byte(msgAck), 0x80, 0x80, 0x80, 0x80, 0x10},
		"name too long":      append([]byte{byte(msgPing), 1, 0x80, 0x02}, make([]byte, 256)...),
		"bad nack flag":      {byte(msgIndirectPing), 1, 1, 'a', 1, 'b', 2},
		"bad state":          {byte(msgPushPull), 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 9, 0, 1, 'x', 0, 0},
		"count beyond input": {byte(msgPushPull), 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x03},
		"3 buckets":          {byte(msgPushPull), 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"buckets beyond":     {byte(msgPushPull), 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 4, 0},
		"truncated varint":   {byte(msgAlive), 0x80},
	}
	for name, b := range cases {
		if _, _, err := decodeMessage(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestHeaderRejects(t *testing.T) {
	good := appendHeader(nil, flagPriority, "prod")
	if h, _, _, err := decodeHeader(good); err != nil || string(h.label) != "prod" {
		t.Fatalf("good header: %v %q", err, h.label)
	}
	for name, b := range map[string][]byte{
		"short":         {1, 0},
		"version 2":     {2, 0, 0},
		"reserved flag": {1, 0x80, 0},
		"label beyond":  {1, 0, 5, 'a'},
	} {
		if _, _, _, err := decodeHeader(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDecodeBodyMaxMessages(t *testing.T) {
	var b []byte
	for i := 0; i <= maxMessages; i++ {
		b = appendMessage(b, &message{typ: msgAck, seq: uint32(i)})
	}
	if err := decodeBody(b, func(*message) {}); err != errTooMany {
		t.Fatalf("got %v, want errTooMany", err)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	m := map[string]string{MetaRPCAddr: "127.0.0.1:50051", MetaServices: "a,b"}
	b := encodeMeta(m)
	if !validMeta(b) || !reflect.DeepEqual(decodeMeta(b), m) {
		t.Fatalf("meta did not round-trip: %x", b)
	}
	if !bytes.Equal(encodeMeta(m), b) {
		t.Fatal("meta encoding is not deterministic")
	}
	for _, bad := range [][]byte{{1}, {1, 1, 'k'}, {0, 0}, {2, 1, 'k', 1, 'v'}} {
		if validMeta(bad) || decodeMeta(bad) != nil {
			t.Errorf("%x accepted", bad)
		}
	}
	mem := Member{Meta: m}
	if mem.RPCAddr() != "127.0.0.1:50051" || !mem.Offers("b") || mem.Offers("c") {
		t.Fatal("member accessors")
	}
}

// TestStateBodyMatchesAppendMessage: the table-driven push-pull encoder
// writes what appendMessage would.
func TestStateBodyMatchesAppendMessage(t *testing.T) {
	c := newSimCluster(t, 3, Conditions{Delay: time.Millisecond}, nil)
	defer c.shutdown()
	c.startAll(4)
	c.run(5 * time.Second)
	n := c.nodes[0]
	n.mu.Lock()
	body := n.stateBody(true, n.bucketDigests(2), statesAll, nil)
	n.mu.Unlock()
	m, rest, err := decodeMessage(body)
	if err != nil || len(rest) != 0 {
		t.Fatalf("decode: %v, %d left", err, len(rest))
	}
	if again := appendMessage(nil, &m); !bytes.Equal(again, body) {
		t.Fatalf("re-encoding differs:\n%x\n%x", again, body)
	}
	if len(m.states) != 4 || !m.join || string(m.from) != n.Name() {
		t.Fatalf("decoded %d states join=%v from=%q", len(m.states), m.join, m.from)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(appendMessage(nil, &m))
	}
	f.Add([]byte{byte(msgPushPull), 0, 1, 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, rest, err := decodeMessage(b)
		if err != nil {
			return
		}
		if len(rest) > len(b) {
			t.Fatal("rest longer than input")
		}
		// What decodes re-encodes to something that decodes the same.
		enc := appendMessage(nil, &m)
		again, rest2, err := decodeMessage(enc)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(again), normalize(m)) {
			t.Fatalf("round trip changed the message: %+v vs %+v", again, m)
		}
	})
}

func FuzzDecodeBody(f *testing.F) {
	var all []byte
	for _, m := range sampleMessages() {
		if m.typ != msgPushPull {
			all = appendMessage(all, &m)
		}
	}
	f.Add(all)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		_ = decodeBody(b, func(*message) { n++ })
		if n > maxMessages {
			t.Fatalf("%d messages", n)
		}
	})
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add(encodeMeta(map[string]string{"rpc": "x", "services": "a,b"}))
	f.Add([]byte{0xff, 0xff, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := decodeMeta(b)
		if validMeta(b) != (len(b) == 0 || m != nil) {
			t.Fatalf("validMeta and decodeMeta disagree on %x", b)
		}
	})
}

func FuzzDecodeHeader(f *testing.F) {
	f.Add(appendHeader(nil, flagEncrypted|flagPriority, "label"))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, hdr, body, err := decodeHeader(b)
		if err != nil {
			return
		}
		if len(hdr)+len(body) != len(b) || len(h.label) != int(b[2]) {
			t.Fatal("header split does not add up")
		}
	})
}
