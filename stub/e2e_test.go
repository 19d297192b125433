package stub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/internal/testcert"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// echo implements the test service. Payloads steer it: "fail:<code>"
// answers with that status, "plain" with a plain error, "block" waits for
// release or the end of the call, "big:<n>" answers n bytes.
type echo struct {
	pb.UnimplementedEchoServer
	release chan struct{} // closed to let blocked calls finish
	seen    chan error    // the context error a blocked call saw
	blocked atomic.Int32  // "block" calls started
}

func (e *echo) Unary(ctx context.Context, in *pb.Request) (*pb.Response, error) {
	p := in.GetPayload()
	switch {
	case p == "plain":
		return nil, errors.New("plain failure")
	case p == "panic":
		panic("on purpose")
	case strings.HasPrefix(p, "fail:"):
		var c uint32
		fmt.Sscan(p[5:], &c)
		st, _ := status.New(codes.Code(c), "failed on purpose").WithDetails(durationpb.New(3 * time.Second))
		return nil, st.Err()
	case p == "block":
		e.blocked.Add(1)
		select {
		case <-e.release:
			return &pb.Response{Payload: "released"}, nil
		case <-ctx.Done():
			e.seen <- ctx.Err()
			return nil, ctx.Err()
		}
	case strings.HasPrefix(p, "big:"):
		var n int
		fmt.Sscan(p[4:], &n)
		return &pb.Response{Payload: strings.Repeat("x", n)}, nil
	case p == "md":
		md, _ := metadata.FromIncomingContext(ctx)
		stub.SetHeader(ctx, metadata.Pairs("h", "head", "h-bin", string([]byte{0, 1, 2})))
		stub.SetTrailer(ctx, metadata.Pairs("t", "trail"))
		if m, ok := stub.Method(ctx); !ok || m != pb.Echo_Unary_FullMethodName {
			return nil, status.Errorf(codes.Internal, "Method = %q, %v", m, ok)
		}
		return &pb.Response{Payload: strings.Join(md.Get("k"), ",") + fmt.Sprintf("|%x", md.Get("k-bin"))}, nil
	}
	return &pb.Response{Payload: p}, nil
}

func (e *echo) ServerStream(in *pb.Request, s stub.ServerStreamingServer[pb.Response]) error {
	for i := range int(in.GetCount()) {
		if err := s.Send(&pb.Response{Payload: fmt.Sprint(in.GetPayload(), i)}); err != nil {
			return err
		}
	}
	return nil
}

func (e *echo) ClientStream(s stub.ClientStreamingServer[pb.Request, pb.Response]) error {
	var parts []string
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return s.SendAndClose(&pb.Response{Payload: strings.Join(parts, "+")})
		}
		if err != nil {
			return err
		}
		parts = append(parts, m.GetPayload())
	}
}

func (e *echo) Bidi(s stub.BidiStreamingServer[pb.Request, pb.Response]) error {
	s.SetHeader(metadata.Pairs("bidi", "yes"))
	for {
		m, err := s.Recv()
		if err == io.EOF {
			s.SetTrailer(metadata.Pairs("bidi-end", "yes"))
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&pb.Response{Payload: strings.ToUpper(m.GetPayload())}); err != nil {
			return err
		}
	}
}

// env is a server on a loopback listener and a client of it.
type env struct {
	srv    *stub.Server
	impl   *echo
	cc     *stub.ClientConn
	client pb.EchoClient
	addr   string
	served chan error
}

type envConfig struct {
	tls     bool
	sopts   []stub.ServerOption
	copts   []stub.DialOption
	noClean bool
}

func newEnv(t testing.TB, c envConfig) *env {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sopts, copts := c.sopts, c.copts
	if c.tls {
		sc, cc := tlsCreds(t)
		sopts = append(sopts, stub.Creds(sc))
		copts = append(copts, stub.WithTransportCredentials(cc))
	} else {
		copts = append(copts, stub.WithTransportCredentials(insecure.NewCredentials()))
	}
	e := &env{
		srv:    stub.NewServer(sopts...),
		impl:   &echo{release: make(chan struct{}), seen: make(chan error, 4)},
		addr:   lis.Addr().String(),
		served: make(chan error, 1),
	}
	pb.RegisterEchoServer(e.srv, e.impl)
	go func() { e.served <- e.srv.Serve(lis) }()
	e.cc, err = stub.NewClient(e.addr, copts...)
	if err != nil {
		t.Fatal(err)
	}
	e.client = pb.NewEchoClient(e.cc)
	if !c.noClean {
		t.Cleanup(func() {
			e.cc.Close()
			e.srv.Stop()
			if err := <-e.served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	return e
}

// tlsCreds returns the credentials of both sides, with the test
// certificates (valid for 127.0.0.1).
func tlsCreds(t testing.TB) (server, client credentials.TransportCredentials) {
	c := testcert.Get(t)
	return credentials.NewServerTLSFromCert(&c.Server), credentials.NewClientTLSFromCert(c.Pool, "")
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, c codes.Code, msg string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != c || (msg != "" && st.Message() != msg) {
		t.Fatalf("error %v; want code %v message %q", err, c, msg)
	}
}

func TestAllCallKinds(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			leakcheck.Check(t)
			e := newEnv(t, envConfig{tls: useTLS})
			ctx := ctxT(t)

			r, err := e.client.Unary(ctx, &pb.Request{Payload: "hi"})
			if err != nil || r.GetPayload() != "hi" {
				t.Fatalf("Unary = %v, %v", r, err)
			}

			ss, err := e.client.ServerStream(ctx, &pb.Request{Payload: "n", Count: ptr(int32(3))})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for {
				m, err := ss.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, m.GetPayload())
			}
			if strings.Join(got, ",") != "n0,n1,n2" {
				t.Fatalf("ServerStream got %q", got)
			}

			cs, err := e.client.ClientStream(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"a", "b", "c"} {
				if err := cs.Send(&pb.Request{Payload: p}); err != nil {
					t.Fatal(err)
				}
			}
			if m, err := cs.CloseAndRecv(); err != nil || m.GetPayload() != "a+b+c" {
				t.Fatalf("CloseAndRecv = %v, %v", m, err)
			}

			var trailer metadata.MD
			bs, err := e.client.Bidi(ctx, stub.Trailer(&trailer))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"x", "y"} {
				if err := bs.Send(&pb.Request{Payload: p}); err != nil {
					t.Fatal(err)
				}
				m, err := bs.Recv()
				if err != nil || m.GetPayload() != strings.ToUpper(p) {
					t.Fatalf("Bidi Recv = %v, %v", m, err)
				}
			}
			if h, err := bs.Header(); err != nil || h.Get("bidi")[0] != "yes" {
				t.Fatalf("Bidi Header = %v, %v", h, err)
			}
			bs.CloseSend()
			if _, err := bs.Recv(); err != io.EOF {
				t.Fatalf("Bidi end: %v", err)
			}
			if v := trailer.Get("bidi-end"); len(v) != 1 || v[0] != "yes" {
				t.Fatalf("Bidi trailer %v", trailer)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestMetadataBothWays(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	ctx := metadata.NewOutgoingContext(ctxT(t), metadata.Pairs("k", "v1", "k", "v2", "k-bin", string([]byte{0xff, 0})))
	var header, trailer metadata.MD
	r, err := e.client.Unary(ctx, &pb.Request{Payload: "md"}, stub.Header(&header), stub.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,v2|[ff00]"; r.GetPayload() != want {
		t.Fatalf("server saw %q, want %q", r.GetPayload(), want)
	}
	if header.Get("h")[0] != "head" || header.Get("h-bin")[0] != string([]byte{0, 1, 2}) {
		t.Fatalf("header %v", header)
	}
	if trailer.Get("t")[0] != "trail" {
		t.Fatalf("trailer %v", trailer)
	}
}

func TestStatusDetailsRoundTrip(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	_, err := e.client.Unary(ctxT(t), &pb.Request{Payload: fmt.Sprint("fail:", uint32(codes.FailedPrecondition))})
	wantCode(t, err, codes.FailedPrecondition, "failed on purpose")
	st, _ := status.FromError(err)
	d := st.Details()
	if len(d) != 1 {
		t.Fatalf("details %v", d)
	}
	if dur, ok := d[0].(*durationpb.Duration); !ok || dur.AsDuration() != 3*time.Second {
		t.Fatalf("detail %v", d[0])
	}
}

func TestPlainErrorIsUnknown(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	_, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "plain"})
	wantCode(t, err, codes.Unknown, "plain failure")
}

func TestUnknownServiceAndMethod(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	ctx := ctxT(t)
	err := e.cc.Invoke(ctx, "/no.Such/Thing", &emptypb.Empty{}, &emptypb.Empty{})
	wantCode(t, err, codes.Unimplemented, "unknown service no.Such")
	err = e.cc.Invoke(ctx, "/h2rpc.gentest.Echo/Nope", &emptypb.Empty{}, &emptypb.Empty{})
	wantCode(t, err, codes.Unimplemented, "unknown method Nope for service h2rpc.gentest.Echo")
	//lint:ignore SA1019 Old is the test service's deprecated method; calling it is the point.
	_, err = e.client.Old(ctx, &emptypb.Empty{})
	wantCode(t, err, codes.Unimplemented, "method Old not implemented")
}

func TestUnknownServiceHandler(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{sopts: []stub.ServerOption{stub.UnknownServiceHandler(func(_ any, s stub.ServerStream) error {
		m, _ := stub.Method(s.Context())
		var in emptypb.Empty
		if err := s.RecvMsg(&in); err != nil {
			return err
		}
		return s.SendMsg(&pb.Response{Payload: m})
	})}})
	var out pb.Response
	if err := e.cc.Invoke(ctxT(t), "/any.Thing/Goes", &emptypb.Empty{}, &out); err != nil || out.GetPayload() != "/any.Thing/Goes" {
		t.Fatalf("Invoke = %v, %q", err, out.GetPayload())
	}
}

func TestInterceptorOrder(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	var trace []string
	add := func(s string) { mu.Lock(); trace = append(trace, s); mu.Unlock() }
	su := func(name string) stub.UnaryServerInterceptor {
		return func(ctx context.Context, req any, info *stub.UnaryServerInfo, h stub.UnaryHandler) (any, error) {
			add("s" + name + ":" + info.FullMethod)
			return h(ctx, req)
		}
	}
	ss := func(name string) stub.StreamServerInterceptor {
		return func(srv any, s stub.ServerStream, info *stub.StreamServerInfo, h stub.StreamHandler) error {
			add("s" + name + ":" + info.FullMethod)
			return h(srv, s)
		}
	}
	cu := func(name string) stub.UnaryClientInterceptor {
		return func(ctx context.Context, method string, req, reply any, cc *stub.ClientConn, inv stub.UnaryInvoker, opts ...stub.CallOption) error {
			add("c" + name)
			return inv(ctx, method, req, reply, cc, opts...)
		}
	}
	cs := func(name string) stub.StreamClientInterceptor {
		return func(ctx context.Context, d *stub.StreamDesc, cc *stub.ClientConn, method string, st stub.Streamer, opts ...stub.CallOption) (stub.ClientStream, error) {
			add("c" + name)
			return st(ctx, d, cc, method, opts...)
		}
	}
	e := newEnv(t, envConfig{
		sopts: []stub.ServerOption{
			stub.ChainUnaryInterceptor(su("2"), su("3")), stub.UnaryInterceptor(su("1")),
			stub.ChainStreamInterceptor(ss("2"), ss("3")), stub.StreamInterceptor(ss("1")),
		},
		copts: []stub.DialOption{
			stub.WithChainUnaryInterceptor(cu("2"), cu("3")), stub.WithUnaryInterceptor(cu("1")),
			stub.WithChainStreamInterceptor(cs("2"), cs("3")), stub.WithStreamInterceptor(cs("1")),
		},
	})
	ctx := ctxT(t)
	if _, err := e.client.Unary(ctx, &pb.Request{}); err != nil {
		t.Fatal(err)
	}
	u := pb.Echo_Unary_FullMethodName
	if got, want := strings.Join(trace, " "), "c1 c2 c3 s1:"+u+" s2:"+u+" s3:"+u; got != want {
		t.Fatalf("unary trace %q, want %q", got, want)
	}
	trace = nil
	s, err := e.client.ServerStream(ctx, &pb.Request{Count: ptr(int32(1))})
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = s.Recv()
	}
	b := pb.Echo_ServerStream_FullMethodName
	if got, want := strings.Join(trace, " "), "c1 c2 c3 s1:"+b+" s2:"+b+" s3:"+b; got != want {
		t.Fatalf("stream trace %q, want %q", got, want)
	}
}

func TestGracefulStop(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{noClean: true})
	defer e.cc.Close()
	ctx := ctxT(t)
	if _, err := e.client.Unary(ctx, &pb.Request{}); err != nil { // connected
		t.Fatal(err)
	}
	inFlight := make(chan error, 1)
	var reply *pb.Response
	go func() {
		var err error
		reply, err = e.client.Unary(ctx, &pb.Request{Payload: "block"})
		inFlight <- err
	}()
	waitFor(t, func() bool { return blockedCalls(e) > 0 })
	stopped := make(chan struct{})
	go func() { e.srv.GracefulStop(); close(stopped) }()
	time.Sleep(50 * time.Millisecond)
	_, err := e.client.Unary(ctx, &pb.Request{})
	wantCode(t, err, codes.Unavailable, "")
	select {
	case <-stopped:
		t.Fatal("GracefulStop returned with a call in flight")
	default:
	}
	close(e.impl.release)
	if err := <-inFlight; err != nil || reply.GetPayload() != "released" {
		t.Fatalf("in-flight call: %v, %v", reply, err)
	}
	<-stopped
	if err := <-e.served; err != nil {
		t.Fatalf("Serve after GracefulStop: %v", err)
	}
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := e.srv.Serve(lis); err != stub.ErrServerStopped {
		t.Fatalf("Serve after stop: %v", err)
	}
}

// blockedCalls is the number of "block" calls whose handler has started.
func blockedCalls(e *env) int32 { return e.impl.blocked.Load() }

func TestHardStop(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{noClean: true})
	defer e.cc.Close()
	ctx := ctxT(t)
	done := make(chan error, 1)
	go func() {
		_, err := e.client.Unary(ctx, &pb.Request{Payload: "block"})
		done <- err
	}()
	waitFor(t, func() bool { return blockedCalls(e) > 0 })
	e.srv.Stop()
	wantCode(t, <-done, codes.Unavailable, "")
	if err := <-e.impl.seen; err == nil {
		t.Fatal("handler's context not cancelled by Stop")
	}
	if err := <-e.served; err != nil {
		t.Fatalf("Serve after Stop: %v", err)
	}
}

func TestMaxMessageSizes(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{sopts: []stub.ServerOption{stub.MaxRecvMsgSize(1000), stub.MaxSendMsgSize(5000)}})
	ctx := ctxT(t)
	_, err := e.client.Unary(ctx, &pb.Request{Payload: strings.Repeat("x", 2000)})
	wantCode(t, err, codes.ResourceExhausted, "")
	_, err = e.client.Unary(ctx, &pb.Request{Payload: "big:6000"})
	wantCode(t, err, codes.ResourceExhausted, "")
	_, err = e.client.Unary(ctx, &pb.Request{Payload: "big:3000"}, stub.MaxCallRecvMsgSize(2000))
	wantCode(t, err, codes.ResourceExhausted, "")
	_, err = e.client.Unary(ctx, &pb.Request{Payload: strings.Repeat("x", 500)}, stub.MaxCallSendMsgSize(100))
	wantCode(t, err, codes.ResourceExhausted, "")
	if _, err := e.client.Unary(ctx, &pb.Request{Payload: "big:3000"}); err != nil {
		t.Fatal(err)
	}
}

func TestGzip(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	big := strings.Repeat("compressible ", 1000)
	r, err := e.client.Unary(ctxT(t), &pb.Request{Payload: big}, stub.UseCompressor("gzip"))
	if err != nil || r.GetPayload() != big {
		t.Fatalf("gzip call: %v", err)
	}
}

func TestDeadlineAndCancel(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	ctx, cancel := context.WithTimeout(ctxT(t), 100*time.Millisecond)
	defer cancel()
	_, err := e.client.Unary(ctx, &pb.Request{Payload: "block"})
	wantCode(t, err, codes.DeadlineExceeded, "")
	// The client resets the stream at its deadline and the server's timer
	// fires at about the same instant (the server's deadline is the
	// client's plus the request's flight time), so the handler's context
	// ends either way; what it must not do is stay alive.
	if err := <-e.impl.seen; err != context.DeadlineExceeded && err != context.Canceled {
		t.Fatalf("server saw %v", err)
	}

	ctx, cancel = context.WithCancel(ctxT(t))
	before := blockedCalls(e)
	go func() {
		waitFor(t, func() bool { return blockedCalls(e) > before })
		cancel()
	}()
	_, err = e.client.Unary(ctx, &pb.Request{Payload: "block"})
	wantCode(t, err, codes.Canceled, "")
	if err := <-e.impl.seen; err != context.Canceled {
		t.Fatalf("server saw %v", err)
	}
}

func TestRegisterServicePanics(t *testing.T) {
	s := stub.NewServer()
	pb.RegisterEchoServer(s, &echo{})
	for name, f := range map[string]func(){
		"duplicate":  func() { pb.RegisterEchoServer(s, &echo{}) },
		"wrong type": func() { s.RegisterService(&pb.Echo_ServiceDesc, struct{}{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	info := s.GetServiceInfo()["h2rpc.gentest.Echo"]
	if len(info.Methods) != 6 || info.Metadata != "internal/testpb/test.proto" {
		t.Fatalf("service info %+v", info)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
	}
}
