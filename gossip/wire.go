package gossip

import (
	"encoding/binary"
	"errors"
)

// Wire format version 1; see SPEC.md.
const (
	wireVersion = 1

	flagEncrypted = 1 << 0 // body is sealed with AES-256-GCM
	flagPriority  = 1 << 1 // body carries an alive message
	knownFlags    = flagEncrypted | flagPriority

	maxLabelLen = 255
	maxNameLen  = 255
	maxAddrLen  = 255
	maxMetaLen  = 1024
	// maxPacketLen bounds a datagram; maxStreamLen bounds one stream message.
	maxPacketLen = 65507
	maxStreamLen = 16 << 20
	// maxStates bounds the member states of one push-pull.
	maxStates = 1 << 17
	// maxMessages bounds the messages in one packet.
	maxMessages = 512
	// maxBuckets bounds the bucket digests of a push-pull.
	maxBuckets = 4096
)

type msgType uint8

const (
	msgPing         msgType = 1
	msgIndirectPing msgType = 2
	msgAck          msgType = 3
	msgNack         msgType = 4
	msgAlive        msgType = 5
	msgSuspect      msgType = 6
	msgDead         msgType = 7
	msgUser         msgType = 8
	msgPushPull     msgType = 9
)

func (t msgType) String() string {
	switch t {
	case msgPing:
		return "ping"
	case msgIndirectPing:
		return "indirect-ping"
	case msgAck:
		return "ack"
	case msgNack:
		return "nack"
	case msgAlive:
		return "alive"
	case msgSuspect:
		return "suspect"
	case msgDead:
		return "dead"
	case msgUser:
		return "user"
	case msgPushPull:
		return "push-pull"
	}
	return "unknown"
}

// message is one decoded message. Byte slices alias the decoded buffer.
type message struct {
	typ  msgType
	seq  uint32
	inc  uint32
	nack bool
	join bool
	// name is the subject: the ping target, the member that is alive,
	// suspect or dead.
	name []byte
	addr []byte
	from []byte
	meta []byte
	// payload is a user message.
	payload []byte
	// digest, buckets and states belong to push-pull. buckets holds the
	// bucket digests, 8 bytes each, big-endian.
	digest  uint64
	buckets []byte
	states  []wireState
}

// wireState is one member in a push-pull message.
type wireState struct {
	state State
	inc   uint32
	name  []byte
	addr  []byte
	meta  []byte
}

var (
	errShort     = errors.New("gossip: truncated message")
	errTooLong   = errors.New("gossip: field too long")
	errUnknown   = errors.New("gossip: unknown message type")
	errVersion   = errors.New("gossip: unsupported wire version")
	errFlags     = errors.New("gossip: unknown header flags")
	errTooMany   = errors.New("gossip: too many messages")
	errBadState  = errors.New("gossip: bad member state")
	errEmptyName = errors.New("gossip: empty member name")
	errBuckets   = errors.New("gossip: bucket count not a power of two")
)

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader consumes a buffer; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint(max uint64) uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShort
		return 0
	}
	if v > max {
		r.err = errTooLong
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 1 {
		r.err = errShort
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(max int) []byte {
	n := r.uvarint(uint64(max))
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errShort
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *reader) name() []byte {
	s := r.bytes(maxNameLen)
	if r.err == nil && len(s) == 0 {
		r.err = errEmptyName
	}
	return s
}

func (r *reader) u64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = errShort
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// appendMessage appends the encoding of m.
func appendMessage(b []byte, m *message) []byte {
	b = append(b, byte(m.typ))
	switch m.typ {
	case msgPing:
		b = appendUvarint(b, uint64(m.seq))
		b = appendBytes(b, m.name)
	case msgIndirectPing:
		b = appendUvarint(b, uint64(m.seq))
		b = appendBytes(b, m.name)
		b = appendBytes(b, m.addr)
		var f byte
		if m.nack {
			f = 1
		}
		b = append(b, f)
	case msgAck, msgNack:
		b = appendUvarint(b, uint64(m.seq))
	case msgAlive:
		b = appendUvarint(b, uint64(m.inc))
		b = appendBytes(b, m.name)
		b = appendBytes(b, m.addr)
		b = appendBytes(b, m.meta)
	case msgSuspect, msgDead:
		b = appendUvarint(b, uint64(m.inc))
		b = appendBytes(b, m.name)
		b = appendBytes(b, m.from)
	case msgUser:
		b = appendBytes(b, m.from)
		b = appendUvarint(b, uint64(m.seq))
		b = appendBytes(b, m.payload)
	case msgPushPull:
		var f byte
		if m.join {
			f = 1
		}
		b = append(b, f)
		b = appendBytes(b, m.from)
		b = binary.BigEndian.AppendUint64(b, m.digest)
		b = appendUvarint(b, uint64(len(m.buckets)/8))
		b = append(b, m.buckets...)
		b = appendUvarint(b, uint64(len(m.states)))
		for i := range m.states {
			s := &m.states[i]
			b = append(b, byte(s.state))
			b = appendUvarint(b, uint64(s.inc))
			b = appendBytes(b, s.name)
			b = appendBytes(b, s.addr)
			b = appendBytes(b, s.meta)
		}
	}
	return b
}

// decodeMessage decodes one message from the front of b and returns the
// rest. The returned message aliases b.
func decodeMessage(b []byte) (m message, rest []byte, err error) {
	r := reader{b: b}
	m.typ = msgType(r.byte())
	switch m.typ {
	case msgPing:
		m.seq = uint32(r.uvarint(1<<32 - 1))
		m.name = r.name()
	case msgIndirectPing:
		m.seq = uint32(r.uvarint(1<<32 - 1))
		m.name = r.name()
		m.addr = r.bytes(maxAddrLen)
		f := r.byte()
		if r.err == nil && f > 1 {
			r.err = errFlags
		}
		m.nack = f == 1
	case msgAck, msgNack:
		m.seq = uint32(r.uvarint(1<<32 - 1))
	case msgAlive:
		m.inc = uint32(r.uvarint(1<<32 - 1))
		m.name = r.name()
		m.addr = r.bytes(maxAddrLen)
		m.meta = r.bytes(maxMetaLen)
	case msgSuspect, msgDead:
		m.inc = uint32(r.uvarint(1<<32 - 1))
		m.name = r.name()
		m.from = r.name()
	case msgUser:
		m.from = r.name()
		m.seq = uint32(r.uvarint(1<<32 - 1))
		m.payload = r.bytes(maxPacketLen)
	case msgPushPull:
		f := r.byte()
		if r.err == nil && f > 1 {
			r.err = errFlags
		}
		m.join = f == 1
		m.from = r.name()
		m.digest = r.u64()
		nb := r.uvarint(maxBuckets)
		if r.err == nil && nb&(nb-1) != 0 {
			r.err = errBuckets
		}
		if r.err == nil {
			if uint64(len(r.b)) < nb*8 {
				r.err = errShort
			} else {
				m.buckets = r.b[: nb*8 : nb*8]
				r.b = r.b[nb*8:]
			}
		}
		n := r.uvarint(maxStates)
		if r.err == nil && n > uint64(len(r.b))/4 {
			// Every state takes at least 4 bytes: refuse counts the
			// buffer cannot hold before allocating for them.
			r.err = errShort
		}
		if r.err == nil {
			m.states = make([]wireState, 0, n)
		}
		for i := uint64(0); i < n && r.err == nil; i++ {
			var s wireState
			s.state = State(r.byte())
			s.inc = uint32(r.uvarint(1<<32 - 1))
			s.name = r.name()
			s.addr = r.bytes(maxAddrLen)
			s.meta = r.bytes(maxMetaLen)
			if r.err == nil && s.state > StateLeft {
				r.err = errBadState
			}
			m.states = append(m.states, s)
		}
	default:
		return message{}, nil, errUnknown
	}
	if r.err != nil {
		return message{}, nil, r.err
	}
	return m, r.b, nil
}

// header is the cleartext front of every packet and stream message.
type header struct {
	flags byte
	label []byte
}

// appendHeader appends the version, flags and cluster label.
func appendHeader(b []byte, flags byte, label string) []byte {
	b = append(b, wireVersion, flags, byte(len(label)))
	return append(b, label...)
}

// decodeHeader splits a packet into its header, the header's bytes (the
// additional data when encrypted) and the body.
func decodeHeader(b []byte) (h header, hdr, body []byte, err error) {
	if len(b) < 3 {
		return h, nil, nil, errShort
	}
	if b[0] != wireVersion {
		return h, nil, nil, errVersion
	}
	h.flags = b[1]
	if h.flags&^knownFlags != 0 {
		return h, nil, nil, errFlags
	}
	n := int(b[2])
	if len(b) < 3+n {
		return h, nil, nil, errShort
	}
	h.label = b[3 : 3+n]
	return h, b[:3+n], b[3+n:], nil
}

// decodeBody decodes every message in a packet body, calling f for each.
// It stops at the first malformed message and returns its error; messages
// before it have already been handed to f.
func decodeBody(b []byte, f func(*message)) error {
	for n := 0; len(b) > 0; n++ {
		if n == maxMessages {
			return errTooMany
		}
		m, rest, err := decodeMessage(b)
		if err != nil {
			return err
		}
		f(&m)
		b = rest
	}
	return nil
}
