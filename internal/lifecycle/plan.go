package lifecycle

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/frame"
)

// Kind is one of the four kinds of call.
type Kind uint8

// The kinds of call.
const (
	Unary Kind = iota
	ClientStream
	ServerStream
	Bidi
)

// Kinds lists the four kinds of call.
var Kinds = [...]Kind{Unary, ClientStream, ServerStream, Bidi}

var kindNames = [...]string{"unary", "client-streaming", "server-streaming", "bidi"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ClientStreams reports whether the client sends a stream of requests.
func (k Kind) ClientStreams() bool { return k == ClientStream || k == Bidi }

// ServerStreams reports whether the server sends a stream of responses.
func (k Kind) ServerStreams() bool { return k == ServerStream || k == Bidi }

// Fault is what a call is put through. The first group hits one call;
// the round faults hit every call of a round at once.
type Fault uint8

// The faults.
const (
	NoFault Fault = iota
	// Cancel cancels the call's context Delay after the call starts.
	Cancel
	// CancelMethod calls the stream's own Cancel method (on layers whose
	// streams have one) from another goroutine, Delay after the start.
	CancelMethod
	// Deadline gives the call a deadline Delay after its start.
	Deadline
	// Abort has the handler end the call with codes.Aborted after At
	// messages.
	Abort
	// FinishEarly has the handler of a client-streaming or bidi call end
	// it OK after At requests, while the client may still be sending.
	FinishEarly
	// Reset has the handler reset the stream (RST_STREAM with Code) after
	// At messages, on layers whose server calls can.
	Reset

	// CloseClient closes the client connection.
	CloseClient
	// GracefulStop stops the server gracefully: GOAWAY, calls in flight
	// finish, new ones are refused.
	GracefulStop
	// HardStop stops the server at once.
	HardStop
)

var faultNames = [...]string{"none", "cancel", "cancel-method", "deadline", "abort", "finish-early", "reset", "close-client", "graceful-stop", "hard-stop"}

func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "fault(" + strconv.Itoa(int(f)) + ")"
}

func faultNamed(s string) (Fault, bool) {
	i := slices.Index(faultNames[:], s)
	return Fault(i), i >= 0
}

// ResetCodes are the RST_STREAM codes a Reset fault sends, and the status
// each must give the client (PROTOCOL-HTTP2, "Errors").
var ResetCodes = map[frame.ErrCode]codes.Code{
	frame.ErrCodeCancel:          codes.Canceled,
	frame.ErrCodeInternal:        codes.Internal,
	frame.ErrCodeEnhanceYourCalm: codes.ResourceExhausted,
}

// roundCode is the status a round fault gives the calls it interrupts:
// grpc-go's contract, and the doc comments of ClientConn.Close and of the
// server's stops.
var roundCode = map[Fault]codes.Code{
	CloseClient:  codes.Canceled,
	GracefulStop: codes.Unavailable, // only for calls the server never processed
	HardStop:     codes.Unavailable,
}

// headerUse says when a streaming call's client asks for the headers.
type headerUse uint8

const (
	headerNever      headerUse = iota
	headerConcurrent           // from a goroutine of its own, HeaderDelay after the start
	headerFirst                // on the receiving goroutine, before the first RecvMsg
	headerAfter                // on the receiving goroutine, after the last RecvMsg
)

// Plan is one call: what it sends, how the server answers and what fault
// it meets. The server learns its part from the call's metadata.
type Plan struct {
	ID    uint64
	Kind  Kind
	N     int           // requests (client-streaming, bidi) or responses (server-streaming)
	Pad   int           // bytes added to every message
	Pace  time.Duration // pause before each message, on both sides
	Fault Fault
	At    int           // messages before a handler's fault (Abort, FinishEarly, Reset)
	Code  frame.ErrCode // of a Reset
	Delay time.Duration // before a client-side fault (Cancel, CancelMethod, Deadline)

	Sequential  bool // a client-streaming call sends, half-closes and receives on one goroutine
	Header      headerUse
	HeaderDelay time.Duration
}

func (p *Plan) String() string {
	s := fmt.Sprintf("call %d %v n=%d pad=%d pace=%v fault=%v", p.ID, p.Kind, p.N, p.Pad, p.Pace, p.Fault)
	switch p.Fault {
	case Cancel, CancelMethod, Deadline:
		s += fmt.Sprintf(" delay=%v", p.Delay)
	case Abort, FinishEarly:
		s += fmt.Sprintf(" at=%d", p.At)
	case Reset:
		s += fmt.Sprintf(" at=%d code=%v", p.At, p.Code)
	}
	if p.Kind != Unary {
		s += fmt.Sprintf(" header=%d/%v sequential=%v", p.Header, p.HeaderDelay, p.Sequential)
	}
	return s
}

// The metadata keys of a call's plan, and of the response metadata the
// server sends on every call (the call's ID as value).
const (
	HeaderKey  = "lc-header"
	TrailerKey = "lc-trailer"

	keyID    = "lc-id"
	keyN     = "lc-n"
	keyPad   = "lc-pad"
	keyPace  = "lc-pace"
	keyFault = "lc-fault"
	keyAt    = "lc-at"
	keyCode  = "lc-code"
)

// Metadata returns the request metadata that tells the server its part.
func (p *Plan) Metadata() metadata.MD {
	md := metadata.Pairs(
		keyID, strconv.FormatUint(p.ID, 10),
		keyN, strconv.Itoa(p.N),
		keyPad, strconv.Itoa(p.Pad),
		keyPace, strconv.FormatInt(int64(p.Pace), 10),
	)
	switch p.Fault {
	case Abort, FinishEarly, Reset:
		md.Set(keyFault, p.Fault.String())
		md.Set(keyAt, strconv.Itoa(p.At))
		md.Set(keyCode, strconv.FormatUint(uint64(p.Code), 10))
	}
	return md
}

// Request returns the i-th request message of call id.
func Request(id uint64, i, pad int) string { return message(id, 'q', i, pad) }

// Response returns the i-th response message of server-streaming call id.
func Response(id uint64, i, pad int) string { return message(id, 'r', i, pad) }

// Echo is the response to a unary or bidi request.
func Echo(req string) string { return "echo:" + req }

// Joined is the response of a client-streaming call to its requests.
func Joined(reqs []string) string { return strings.Join(reqs, "+") }

func message(id uint64, tag byte, i, pad int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%c%d/", id, tag, i)
	fill := byte('a' + (id+uint64(i))%26)
	for range pad {
		b.WriteByte(fill)
	}
	return b.String()
}

// requests returns the first n requests of the call.
func (p *Plan) requests(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = Request(p.ID, i, p.Pad)
	}
	return out
}

// want returns the messages a call receives when it ends OK.
func (p *Plan) want() []string {
	n := p.N
	if p.Fault == FinishEarly {
		n = p.At
	}
	return p.wantFirst(n)
}

// wantFirst returns what the client receives when the server has handled
// n messages (sent n responses, or received n requests) and ends the call
// OK; for a call that ends with an error instead, the one message of a
// unary or client-streaming call is not sent.
func (p *Plan) wantFirst(n int) []string {
	switch p.Kind {
	case Unary:
		return []string{Echo(Request(p.ID, 0, p.Pad))}
	case ClientStream:
		return []string{Joined(p.requests(n))}
	case ServerStream:
		out := make([]string, n)
		for i := range out {
			out[i] = Response(p.ID, i, p.Pad)
		}
		return out
	default:
		out := p.requests(n)
		for i := range out {
			out[i] = Echo(out[i])
		}
		return out
	}
}

// wantBeforeAbort returns the messages a call receives before the handler
// aborts it.
func (p *Plan) wantBeforeAbort() []string {
	if !p.Kind.ServerStreams() {
		return nil
	}
	return p.wantFirst(p.At)
}

// allowed reports whether a call may end with code under its own fault
// and the round's.
func (p *Plan) allowed(c codes.Code, round Fault) bool {
	if rc, ok := roundCode[round]; ok && c == rc {
		return true
	}
	switch p.Fault {
	case NoFault, FinishEarly:
		return c == codes.OK
	case Cancel, CancelMethod:
		return c == codes.OK || c == codes.Canceled
	case Deadline:
		return c == codes.OK || c == codes.DeadlineExceeded
	case Abort:
		return c == codes.Aborted
	case Reset:
		return c == ResetCodes[p.Code]
	}
	return false
}

// planner draws plans at random.
type planner struct {
	rng     *rand.Rand
	kinds   []Kind
	faults  []Fault // the call faults the layer supports, NoFault first
	lat     [len(Kinds)]time.Duration
	nextID  uint64
	resetCs []frame.ErrCode
}

func newPlanner(rng *rand.Rand, kinds []Kind, faults []Fault) *planner {
	if len(kinds) == 0 {
		kinds = Kinds[:]
	}
	pl := &planner{rng: rng, kinds: kinds, faults: append([]Fault{NoFault}, faults...)}
	for c := range ResetCodes {
		pl.resetCs = append(pl.resetCs, c)
	}
	slices.Sort(pl.resetCs)
	return pl
}

// plan draws the next call.
func (pl *planner) plan() Plan {
	r := pl.rng
	pl.nextID++
	p := Plan{ID: pl.nextID, Kind: pl.kinds[r.IntN(len(pl.kinds))], N: 1}
	if p.Kind != Unary {
		p.N = r.IntN(7)
		if p.Kind == ServerStream {
			p.N = 1 + r.IntN(6)
		}
	}
	switch x := r.IntN(10); {
	case x < 7:
	case x < 9:
		p.Pad = r.IntN(1 << 10)
	default:
		p.Pad = r.IntN(32 << 10)
	}
	if r.IntN(5) < 2 {
		p.Pace = time.Duration(r.IntN(300)) * time.Microsecond
	}
	p.Fault = pl.faults[r.IntN(len(pl.faults))]
	if r.IntN(4) == 0 {
		p.Fault = NoFault
	}
	switch p.Fault {
	case CancelMethod:
		if p.Kind == Unary {
			p.Fault = Cancel // Invoke has no stream to cancel
		}
	case FinishEarly:
		if !p.Kind.ClientStreams() {
			p.Fault = Abort
		}
	}
	switch p.Fault {
	case Abort, Reset, FinishEarly:
		switch p.Kind {
		case ServerStream:
			p.At = r.IntN(p.N) // before the last response
		case ClientStream, Bidi:
			p.At = r.IntN(p.N + 1)
		}
		p.Code = pl.resetCs[r.IntN(len(pl.resetCs))]
	case Cancel, CancelMethod, Deadline:
		p.Delay = pl.delay(&p)
	}
	if p.Kind != Unary {
		p.Header = headerUse(r.IntN(4))
		p.HeaderDelay = pl.delay(&p)
		p.Sequential = p.Kind == ClientStream && r.IntN(2) == 0
	}
	return p
}

// delay returns a random time from 0 to twice the call's expected length.
func (pl *planner) delay(p *Plan) time.Duration {
	est := pl.lat[p.Kind] + time.Duration(p.N)*p.Pace
	return time.Duration(pl.rng.Int64N(int64(2*est) + 1))
}
