package gossip

import (
	"encoding/binary"
	"sort"
	"strings"
	"time"
)

// State is what a member is believed to be.
type State uint8

// Member states.
const (
	StateAlive   State = 0
	StateSuspect State = 1
	StateDead    State = 2
	StateLeft    State = 3
)

// String returns the state's name: alive, suspect, dead or left.
func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return "unknown"
}

// Well-known metadata keys.
const (
	// MetaRPCAddr is the address the member serves RPCs on.
	MetaRPCAddr = "rpc"
	// MetaServices lists the services the member offers, comma-separated.
	MetaServices = "services"
)

// Member is a snapshot of one member.
type Member struct {
	Name        string
	Addr        string
	Meta        map[string]string
	Incarnation uint32
	State       State
	// Since is when this node last saw the member's state change, to the
	// second.
	Since time.Time
}

// RPCAddr returns the member's MetaRPCAddr.
func (m Member) RPCAddr() string { return m.Meta[MetaRPCAddr] }

// Services returns the services listed under MetaServices.
func (m Member) Services() []string {
	s := m.Meta[MetaServices]
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// Offers reports whether the member lists service under MetaServices.
func (m Member) Offers(service string) bool {
	for _, s := range m.Services() {
		if s == service {
			return true
		}
	}
	return false
}

// EventType says what happened to a member.
type EventType uint8

// Event types.
const (
	// EventJoin: a member became known, or came back after being dead.
	EventJoin EventType = iota + 1
	// EventUpdate: a member changed its metadata or address, or refuted a
	// suspicion.
	EventUpdate
	// EventSuspect: a member is suspected of having failed.
	EventSuspect
	// EventDead: a member was declared dead.
	EventDead
	// EventLeave: a member left on purpose.
	EventLeave
)

// String returns the event type's name: join, update, suspect, dead or
// leave.
func (t EventType) String() string {
	switch t {
	case EventJoin:
		return "join"
	case EventUpdate:
		return "update"
	case EventSuspect:
		return "suspect"
	case EventDead:
		return "dead"
	case EventLeave:
		return "leave"
	}
	return "unknown"
}

// Event is one membership change seen by a Node.
type Event struct {
	Type   EventType
	Member Member

	seq uint64 // its place among the node's events, for subscribers
}

// encodeMeta encodes metadata deterministically: a count, then sorted
// key/value pairs, each length-prefixed (SPEC.md, "Metadata").
func encodeMeta(m map[string]string) []byte {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := binary.AppendUvarint(nil, uint64(len(keys)))
	for _, k := range keys {
		b = appendString(b, k)
		b = appendString(b, m[k])
	}
	return b
}

// decodeMeta decodes metadata; malformed metadata yields nil.
func decodeMeta(b []byte) map[string]string {
	if len(b) == 0 {
		return nil
	}
	r := reader{b: b}
	n := r.uvarint(uint64(len(b)) / 2)
	if r.err != nil {
		return nil
	}
	m := make(map[string]string, n)
	for i := uint64(0); i < n; i++ {
		k := r.bytes(maxMetaLen)
		v := r.bytes(maxMetaLen)
		if r.err != nil {
			return nil
		}
		m[string(k)] = string(v)
	}
	if len(r.b) != 0 {
		return nil
	}
	return m
}

// validMeta reports whether b is well-formed metadata, without allocating.
func validMeta(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	r := reader{b: b}
	n := r.uvarint(uint64(len(b)) / 2)
	for i := uint64(0); i < n && r.err == nil; i++ {
		r.bytes(maxMetaLen)
		r.bytes(maxMetaLen)
	}
	return r.err == nil && len(r.b) == 0
}
