package channel

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/internal/lifecycle"
)

// TestLifecycle runs randomized lifecycles of the four kinds of call over
// the byte-level API: context cancel and deadline, ClientStream.Cancel, a
// handler that aborts, finishes before the client is done or resets the
// stream, ClientConn.Close, ServerConn.Shutdown and Close, each at a random
// point against the call's completion, with Header, Trailer, SendMsg,
// CloseSend and RecvMsg called from separate goroutines.
// -lifecycle.seed and -lifecycle.duration (LIFECYCLE_SEED,
// LIFECYCLE_DURATION) set its seed and how long it runs.
func TestLifecycle(t *testing.T) {
	lifecycle.Run(t, lifecycle.Lifecycle, lifecycle.Layer{
		Start: startLifecycle,
		CallFaults: []lifecycle.Fault{lifecycle.Cancel, lifecycle.CancelMethod, lifecycle.Deadline,
			lifecycle.Abort, lifecycle.FinishEarly, lifecycle.Reset},
		RoundFaults: []lifecycle.Fault{lifecycle.CloseClient, lifecycle.GracefulStop, lifecycle.HardStop},
	})
}

// TestLifecycleUnaryCancel races the end of unary calls with their
// contexts' callbacks: eight goroutines, most calls cancelled or expiring
// after zero to two call latencies.
func TestLifecycleUnaryCancel(t *testing.T) { lifecycle.RunUnaryCancel(t, startLifecycle) }

// lifecycleMethods are the methods of the four kinds of call.
var lifecycleMethods = [...]string{
	lifecycle.Unary:        "/lc.Echo/Unary",
	lifecycle.ClientStream: "/lc.Echo/ClientStream",
	lifecycle.ServerStream: "/lc.Echo/ServerStream",
	lifecycle.Bidi:         "/lc.Echo/Bidi",
}

// lifecycleEnv is a server of the lifecycle calls and a client of it.
type lifecycleEnv struct {
	s  *testServer
	cc *ClientConn
}

func startLifecycle(t testing.TB, l *lifecycle.Ledger) lifecycle.Env {
	s := startServer(t, nil, func(ss *ServerStream) { serveLifecycle(ss, l) })
	return &lifecycleEnv{s: s, cc: newTestClient(t, s.addr())}
}

// serveLifecycle serves one lifecycle call.
func serveLifecycle(ss *ServerStream, l *lifecycle.Ledger) {
	k := lifecycle.Bidi
	for i, m := range lifecycleMethods {
		if m == ss.Method() {
			k = lifecycle.Kind(i)
		}
	}
	c := &lifecycleServerCall{ss: ss, unary: k == lifecycle.Unary}
	if err := lifecycle.Serve(c, k, l); err != nil {
		ss.Finish(status.Convert(err))
		return
	}
	if c.unary {
		ss.SendMsgAndFinish(msg(c.reply), nil)
		return
	}
	ss.Finish(nil)
}

func (e *lifecycleEnv) Inject(f lifecycle.Fault) {
	switch f {
	case lifecycle.CloseClient:
		e.cc.Close()
	case lifecycle.GracefulStop:
		var wg sync.WaitGroup
		for _, sc := range e.s.closeListener() {
			wg.Go(func() { sc.Shutdown(context.Background()) })
		}
		wg.Wait()
	case lifecycle.HardStop:
		for _, sc := range e.s.closeListener() {
			sc.Close()
		}
	}
}

// closeListener stops accepting connections and returns those accepted.
func (s *testServer) closeListener() []*ServerConn {
	s.ln.Close()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (e *lifecycleEnv) Close() {
	e.cc.Close()
	e.s.stop()
}

func (e *lifecycleEnv) Unary(ctx context.Context, req string) (string, metadata.MD, metadata.MD, error) {
	var header, trailer metadata.MD
	reply, err := e.cc.Invoke(ctx, lifecycleMethods[lifecycle.Unary], msg(req), nil, nil, &header, &trailer)
	return string(reply), header, trailer, err
}

func (e *lifecycleEnv) Start(ctx context.Context, k lifecycle.Kind, req string) (lifecycle.ClientCall, error) {
	cs, err := e.cc.NewStream(ctx, lifecycleMethods[k], nil)
	if err != nil {
		return nil, err
	}
	if k == lifecycle.ServerStream {
		// An io.EOF means the call has ended; RecvMsg tells how.
		if err := cs.SendMsg(msg(req)); err != nil && err != io.EOF {
			return nil, err
		}
		cs.CloseSend()
	}
	return lifecycleClientCall{cs}, nil
}

// lifecycleClientCall is a ClientStream with string messages.
type lifecycleClientCall struct{ *ClientStream }

func (c lifecycleClientCall) Send(m string) error { return c.SendMsg(msg(m)) }

func (c lifecycleClientCall) Recv() (string, error) {
	m, err := c.RecvMsg(nil)
	return string(m), err
}

// lifecycleServerCall is a ServerStream with string messages. A unary
// call's response is kept, to leave with its trailers.
type lifecycleServerCall struct {
	ss       *ServerStream
	unary    bool
	received bool
	reply    string
}

func (c *lifecycleServerCall) Context() context.Context        { return c.ss.Context() }
func (c *lifecycleServerCall) SendHeader(md metadata.MD) error { return c.ss.SendHeader(md) }
func (c *lifecycleServerCall) SetTrailer(md metadata.MD) error { return c.ss.SetTrailer(md) }
func (c *lifecycleServerCall) Reset(code frame.ErrCode)        { c.ss.st.Reset(code) }

func (c *lifecycleServerCall) Send(m string) error {
	if c.unary {
		c.reply = m
		return nil
	}
	return c.ss.SendMsg(msg(m))
}

// Recv receives the next request; for a unary call, its one request and
// then the end of the requests, which must follow.
func (c *lifecycleServerCall) Recv() (string, error) {
	if c.unary && c.received {
		return "", io.EOF
	}
	m, err := c.ss.RecvMsg(nil)
	if err != nil || !c.unary {
		return string(m), err
	}
	c.received = true
	if _, err := c.ss.RecvMsg(nil); err != io.EOF {
		return "", status.Errorf(codes.Internal, "unary call: after the request, %v instead of its end", err)
	}
	return string(m), nil
}
