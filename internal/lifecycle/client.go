package lifecycle

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
)

// Client starts calls on a layer's client, with messages as strings. The
// context carries the call's outgoing metadata.
type Client interface {
	// Unary runs a unary call and returns its response and its response
	// metadata.
	Unary(ctx context.Context, req string) (reply string, header, trailer metadata.MD, err error)
	// Start starts a streaming call of kind k; a server-streaming call
	// sends req and half-closes before Start returns.
	Start(ctx context.Context, k Kind, req string) (ClientCall, error)
}

// ClientCall is the client side of a streaming call. Send and CloseSend
// are called from one goroutine, Recv from another; Header and Trailer
// from any.
type ClientCall interface {
	Send(m string) error
	CloseSend() error
	// Recv returns the next response; io.EOF when the call ended OK.
	Recv() (string, error)
	Header() (metadata.MD, error)
	Trailer() metadata.MD
}

// Canceler is implemented by client calls that can be cancelled directly.
type Canceler interface {
	Cancel()
}

// Outcome is what a client saw of one call.
type Outcome struct {
	Plan         Plan
	Err          error    // nil when the call ended OK
	Msgs         []string // responses received
	Header       metadata.MD
	HeaderErr    error
	HeaderCalled bool
	Trailer      metadata.MD
	Took         time.Duration
	notes        []string // misbehaviour seen during the call
}

func (o *Outcome) note(format string, args ...any) {
	o.notes = append(o.notes, fmt.Sprintf(format, args...))
}

// run makes the call of plan p.
func run(ctx context.Context, c Client, p Plan) *Outcome {
	o := &Outcome{Plan: p}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	switch p.Fault {
	case Cancel:
		t := time.AfterFunc(p.Delay, cancel)
		defer t.Stop()
	case Deadline:
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, p.Delay)
		defer stop()
	}
	ctx = metadata.NewOutgoingContext(ctx, p.Metadata())
	start := time.Now()
	defer func() { o.Took = time.Since(start) }()
	if p.Kind == Unary {
		reply, h, tr, err := c.Unary(ctx, Request(p.ID, 0, p.Pad))
		o.Err, o.Header, o.Trailer = err, h, tr
		if err == nil {
			o.Msgs = []string{reply}
		}
		return o
	}
	call, err := c.Start(ctx, p.Kind, Request(p.ID, 0, p.Pad))
	if err != nil {
		o.Err = err
		return o
	}
	o.stream(call)
	return o
}

// stream drives a streaming call: SendMsg and CloseSend on one goroutine,
// RecvMsg on another, Header on a third when the plan says so, and the
// stream's Cancel method on a fourth.
func (o *Outcome) stream(call ClientCall) {
	p := &o.Plan
	var wg sync.WaitGroup
	var sendNotes []string
	send := func() {
		for i := range p.N {
			if p.Pace > 0 {
				time.Sleep(p.Pace)
			}
			if err := call.Send(Request(p.ID, i, p.Pad)); err != nil {
				if err != io.EOF {
					sendNotes = append(sendNotes, fmt.Sprintf("SendMsg %d: %v, want nil or io.EOF", i, err))
				}
				break
			}
		}
		if err := call.CloseSend(); err != nil && err != io.EOF {
			sendNotes = append(sendNotes, fmt.Sprintf("CloseSend: %v, want nil", err))
		}
	}
	if p.Kind.ClientStreams() && !p.Sequential {
		wg.Go(send)
	}
	if p.Fault == CancelMethod {
		wg.Go(func() {
			time.Sleep(p.Delay)
			if c, ok := call.(Canceler); ok {
				c.Cancel()
			}
		})
	}
	header := func() {
		o.Header, o.HeaderErr = call.Header()
		o.HeaderCalled = true
	}
	if p.Header == headerConcurrent {
		wg.Go(func() {
			time.Sleep(p.HeaderDelay)
			header()
			call.Trailer() // from any goroutine, at any time: its value is not final yet
		})
	}
	if p.Sequential {
		send()
	}
	if p.Header == headerFirst {
		header()
	}
	for {
		m, err := call.Recv()
		if err != nil {
			if err != io.EOF {
				o.Err = err
			}
			break
		}
		o.Msgs = append(o.Msgs, m)
	}
	o.Trailer = call.Trailer()
	// The end is final: RecvMsg says the same again.
	if _, err := call.Recv(); (o.Err == nil && err != io.EOF) || (o.Err != nil && status.Code(err) != status.Code(o.Err)) {
		o.note("RecvMsg after the end returned %v, then %v", o.Err, err)
	}
	if p.Header == headerAfter {
		header()
	}
	wg.Wait()
	o.notes = append(o.notes, sendNotes...)
}
