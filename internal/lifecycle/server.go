package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/frame"
)

// ServerCall is the server side of one call, as a layer's handler sees it,
// with messages as strings.
type ServerCall interface {
	// Context is the call's context, with its incoming metadata.
	Context() context.Context
	// SendHeader sends the response headers with md.
	SendHeader(md metadata.MD) error
	// SetTrailer adds md to the trailers.
	SetTrailer(md metadata.MD) error
	// Recv returns the next request, io.EOF after the last.
	Recv() (string, error)
	// Send sends a response.
	Send(m string) error
}

// Resetter is implemented by server calls that can reset their stream.
type Resetter interface {
	Reset(code frame.ErrCode)
}

// AbortMessage is the message of the status a handler aborts a call with.
const AbortMessage = "lifecycle: aborted by the handler"

// errReset is what Serve returns after resetting the stream.
var errReset = errors.New("lifecycle: stream reset by the handler")

// serverPlan is the server's part of a plan, read from the metadata.
type serverPlan struct {
	id    uint64
	n     int
	pad   int
	pace  time.Duration
	fault Fault
	at    int
	code  frame.ErrCode
}

func serverPlanOf(ctx context.Context) (*serverPlan, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	get := func(k string) (uint64, error) {
		v := md.Get(k)
		if len(v) != 1 {
			return 0, fmt.Errorf("metadata %s = %q, want one value", k, v)
		}
		return strconv.ParseUint(v[0], 10, 64)
	}
	var sp serverPlan
	var n, pad, pace uint64
	var err error
	for _, f := range []struct {
		key string
		dst *uint64
	}{{keyID, &sp.id}, {keyN, &n}, {keyPad, &pad}, {keyPace, &pace}} {
		if *f.dst, err = get(f.key); err != nil {
			return nil, err
		}
	}
	sp.n, sp.pad, sp.pace = int(n), int(pad), time.Duration(pace)
	if v := md.Get(keyFault); len(v) == 1 {
		var ok bool
		if sp.fault, ok = faultNamed(v[0]); !ok {
			return nil, fmt.Errorf("unknown fault %q", v[0])
		}
		at, err := get(keyAt)
		if err != nil {
			return nil, err
		}
		code, err := get(keyCode)
		if err != nil {
			return nil, err
		}
		sp.at, sp.code = int(at), frame.ErrCode(code)
	}
	return &sp, nil
}

// strike returns the error that ends the call when its handler's fault
// strikes after done messages, and whether it strikes.
func (sp *serverPlan) strike(c ServerCall, done int) (error, bool) {
	if done != sp.at {
		return nil, false
	}
	switch sp.fault {
	case Abort:
		return status.Error(codes.Aborted, AbortMessage), true
	case Reset:
		r, ok := c.(Resetter)
		if !ok {
			return status.Errorf(codes.FailedPrecondition, "lifecycle: %T cannot reset its stream", c), true
		}
		r.Reset(sp.code)
		return errReset, true
	}
	return nil, false
}

// pause waits for the plan's pace, or until the call ends.
func (sp *serverPlan) pause(ctx context.Context) {
	if sp.pace <= 0 {
		return
	}
	t := time.NewTimer(sp.pace)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// wrong is the error of a request that is not the one the plan sends.
func wrong(what string, got, want string) error {
	return status.Errorf(codes.DataLoss, "lifecycle: %s %.60q, want %.60q", what, got, want)
}

// Serve plays the server's part of call c, of kind k, as its plan in the
// metadata says, and records in l how far it got. It returns the handler's
// error; for a unary call that ends OK its one Send is the response.
func Serve(c ServerCall, k Kind, l *Ledger) error {
	sp, err := serverPlanOf(c.Context())
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "lifecycle: %v", err)
	}
	rec := l.start(sp.id)
	defer l.active.Add(-1)
	id := strconv.FormatUint(sp.id, 10)
	c.SetTrailer(metadata.Pairs(TrailerKey, id))
	if c.SendHeader(metadata.Pairs(HeaderKey, id)) == nil {
		rec.headerSent.Store(true)
	}
	ctx := c.Context()
	switch k {
	case Unary, ServerStream:
		m, err := c.Recv()
		if err != nil {
			return err
		}
		if want := Request(sp.id, 0, sp.pad); m != want {
			return wrong("request", m, want)
		}
		if k == Unary {
			if err, ok := sp.strike(c, 0); ok {
				return err
			}
			sp.pause(ctx)
			rec.completed.Store(true)
			return c.Send(Echo(m))
		}
		for i := range sp.n {
			if err, ok := sp.strike(c, i); ok {
				return err
			}
			sp.pause(ctx)
			if err := c.Send(Response(sp.id, i, sp.pad)); err != nil {
				return err
			}
		}
		rec.completed.Store(true)
		return nil
	}
	var got []string
	for i := 0; ; i++ {
		if err, ok := sp.strike(c, i); ok {
			return err
		}
		end := sp.fault == FinishEarly && i == sp.at
		var m string
		if !end {
			if m, err = c.Recv(); err == io.EOF {
				if i != sp.n {
					return status.Errorf(codes.DataLoss, "lifecycle: %d requests, want %d", i, sp.n)
				}
				end = true
			} else if err != nil {
				return err
			}
		}
		if end {
			rec.completed.Store(true)
			if k == ClientStream {
				return c.Send(Joined(got))
			}
			return nil
		}
		if want := Request(sp.id, i, sp.pad); m != want {
			return wrong(fmt.Sprintf("request %d", i), m, want)
		}
		got = append(got, m)
		if k == Bidi {
			sp.pause(ctx)
			if err := c.Send(Echo(m)); err != nil {
				return err
			}
		}
	}
}

// Ledger records what the server did with each call.
type Ledger struct {
	mu     sync.Mutex
	calls  map[uint64]*record
	active atomic.Int64 // handlers in Serve
}

type record struct {
	headerSent atomic.Bool // SendHeader returned nil
	completed  atomic.Bool // the handler was about to end the call OK
}

// NewLedger returns an empty ledger.
func NewLedger() *Ledger { return &Ledger{calls: map[uint64]*record{}} }

func (l *Ledger) start(id uint64) *record {
	l.active.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.calls[id]
	if r == nil {
		r = new(record)
		l.calls[id] = r
	}
	return r
}

// lookup returns what the server did with call id: nil if no handler ran.
func (l *Ledger) lookup(id uint64) *record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[id]
}

// waitIdle waits up to d for every handler to leave Serve.
func (l *Ledger) waitIdle(d time.Duration) bool {
	for end := time.Now().Add(d); l.active.Load() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			return false
		}
	}
	return true
}
