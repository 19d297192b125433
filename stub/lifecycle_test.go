package stub_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/internal/lifecycle"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

// TestLifecycle runs randomized lifecycles of the four kinds of call
// through the generated Echo client and server: context cancel and
// deadline, a handler that aborts or finishes before the client is done,
// ClientConn.Close, GracefulStop and Stop, each at a random point against
// the call's completion, with Header, Trailer, SendMsg, CloseSend and
// RecvMsg called from separate goroutines. -lifecycle.seed and
// -lifecycle.duration (LIFECYCLE_SEED, LIFECYCLE_DURATION) set its seed
// and how long it runs.
func TestLifecycle(t *testing.T) {
	runLifecycle(t, startLifecycle, lifecycle.CloseClient, lifecycle.GracefulStop, lifecycle.HardStop)
}

// runLifecycle runs the randomized lifecycles of a stub server started by
// start, with every fault of a call and the given faults of a round.
func runLifecycle(t *testing.T, start func(testing.TB, *lifecycle.Ledger) lifecycle.Env, roundFaults ...lifecycle.Fault) {
	lifecycle.Run(t, lifecycle.Lifecycle, lifecycle.Layer{
		Start:       start,
		CallFaults:  []lifecycle.Fault{lifecycle.Cancel, lifecycle.Deadline, lifecycle.Abort, lifecycle.FinishEarly},
		RoundFaults: roundFaults,

		OneResponseWithStatus: true,
	})
}

// TestLifecycleUnaryCancel races the end of unary calls with their
// contexts' callbacks: eight goroutines, most calls cancelled or expiring
// after zero to two call latencies.
func TestLifecycleUnaryCancel(t *testing.T) { lifecycle.RunUnaryCancel(t, startLifecycle) }

// lifecycleEnv is a stub.Server with the lifecycle Echo service and a
// client of it.
type lifecycleEnv struct {
	srv    *stub.Server
	cc     *stub.ClientConn
	client pb.EchoClient
	served chan error
	t      testing.TB
}

func startLifecycle(t testing.TB, l *lifecycle.Ledger) lifecycle.Env {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &lifecycleEnv{srv: stub.NewServer(), served: make(chan error, 1), t: t}
	pb.RegisterEchoServer(e.srv, &lifecycleEcho{l: l})
	go func() { e.served <- e.srv.Serve(lis) }()
	e.cc, err = stub.NewClient(lis.Addr().String(), stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	e.client = pb.NewEchoClient(e.cc)
	return e
}

func (e *lifecycleEnv) Inject(f lifecycle.Fault) {
	switch f {
	case lifecycle.CloseClient:
		e.cc.Close()
	case lifecycle.GracefulStop:
		e.srv.GracefulStop()
	case lifecycle.HardStop:
		e.srv.Stop()
	}
}

func (e *lifecycleEnv) Close() {
	e.cc.Close()
	e.srv.Stop()
	if err := <-e.served; err != nil {
		e.t.Errorf("Serve: %v", err)
	}
}

func (e *lifecycleEnv) Unary(ctx context.Context, req string) (string, metadata.MD, metadata.MD, error) {
	var header, trailer metadata.MD
	r, err := e.client.Unary(ctx, &pb.Request{Payload: req}, stub.Header(&header), stub.Trailer(&trailer))
	return r.GetPayload(), header, trailer, err
}

func (e *lifecycleEnv) Start(ctx context.Context, k lifecycle.Kind, req string) (lifecycle.ClientCall, error) {
	var s stub.ClientStream
	var err error
	switch k {
	case lifecycle.ClientStream:
		s, err = e.client.ClientStream(ctx)
	case lifecycle.ServerStream:
		s, err = e.client.ServerStream(ctx, &pb.Request{Payload: req})
	default:
		s, err = e.client.Bidi(ctx)
	}
	if err != nil {
		return nil, err
	}
	return lifecycleCall{s}, nil
}

// lifecycleCall is a client stream with string messages.
type lifecycleCall struct{ stub.ClientStream }

func (c lifecycleCall) Send(m string) error { return c.SendMsg(&pb.Request{Payload: m}) }

func (c lifecycleCall) Recv() (string, error) {
	var r pb.Response
	err := c.RecvMsg(&r)
	return r.GetPayload(), err
}

// lifecycleEcho serves the Echo methods with lifecycle.Serve.
type lifecycleEcho struct {
	pb.UnimplementedEchoServer
	l *lifecycle.Ledger
}

func (s *lifecycleEcho) Unary(ctx context.Context, in *pb.Request) (*pb.Response, error) {
	c := &unaryCall{ctx: ctx, in: in.GetPayload()}
	if err := lifecycle.Serve(c, lifecycle.Unary, s.l); err != nil {
		return nil, err
	}
	return &pb.Response{Payload: c.out}, nil
}

func (s *lifecycleEcho) ServerStream(in *pb.Request, ss stub.ServerStreamingServer[pb.Response]) error {
	return lifecycle.Serve(&serverCall{ss: ss, in: in}, lifecycle.ServerStream, s.l)
}

func (s *lifecycleEcho) ClientStream(ss stub.ClientStreamingServer[pb.Request, pb.Response]) error {
	return lifecycle.Serve(&serverCall{ss: ss}, lifecycle.ClientStream, s.l)
}

func (s *lifecycleEcho) Bidi(ss stub.BidiStreamingServer[pb.Request, pb.Response]) error {
	return lifecycle.Serve(&serverCall{ss: ss}, lifecycle.Bidi, s.l)
}

// unaryCall is a unary handler seen as a lifecycle.ServerCall: its one
// request, and the response it is to return.
type unaryCall struct {
	ctx      context.Context
	in, out  string
	received bool
}

func (c *unaryCall) Context() context.Context        { return c.ctx }
func (c *unaryCall) SendHeader(md metadata.MD) error { return stub.SendHeader(c.ctx, md) }
func (c *unaryCall) SetTrailer(md metadata.MD) error { return stub.SetTrailer(c.ctx, md) }
func (c *unaryCall) Send(m string) error             { c.out = m; return nil }
func (c *unaryCall) Recv() (string, error) {
	if c.received {
		return "", io.EOF
	}
	c.received = true
	return c.in, nil
}

// serverCall is a streaming handler's stream seen as a
// lifecycle.ServerCall; in is the request of a server-streaming call,
// which the generated code has already received.
type serverCall struct {
	ss stub.ServerStream
	in *pb.Request
}

func (c *serverCall) Context() context.Context        { return c.ss.Context() }
func (c *serverCall) SendHeader(md metadata.MD) error { return c.ss.SendHeader(md) }
func (c *serverCall) SetTrailer(md metadata.MD) error { c.ss.SetTrailer(md); return nil }
func (c *serverCall) Send(m string) error             { return c.ss.SendMsg(&pb.Response{Payload: m}) }
func (c *serverCall) Recv() (string, error) {
	if c.in != nil {
		in := c.in
		c.in = nil
		return in.GetPayload(), nil
	}
	var r pb.Request
	err := c.ss.RecvMsg(&r)
	return r.GetPayload(), err
}
