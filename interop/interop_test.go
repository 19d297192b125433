package interop_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/interop"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
	"github.com/h2rpc/h2rpc/stub"
	"google.golang.org/protobuf/proto"
)

// transportCase is one way of connecting the client to the server.
type transportCase struct {
	name        string
	serverCreds func() credentials.TransportCredentials
	clientCreds func() credentials.TransportCredentials
}

var transports = []transportCase{
	{
		name:        "h2c",
		serverCreds: func() credentials.TransportCredentials { return nil },
		clientCreds: insecure.NewCredentials,
	},
	{
		name: "tls",
		serverCreds: func() credentials.TransportCredentials {
			cert := interop.TestServerCertificate()
			return credentials.NewServerTLSFromCert(&cert)
		},
		clientCreds: func() credentials.TransportCredentials {
			return credentials.NewClientTLSFromCert(interop.TestCertPool(), interop.TestServerName)
		},
	},
}

// startServer serves the TestService on a loopback port until the test
// ends and returns its address.
func startServer(t *testing.T, creds credentials.TransportCredentials) string {
	t.Helper()
	var opts []stub.ServerOption
	if creds != nil {
		opts = append(opts, stub.Creds(creds))
	}
	srv := stub.NewServer(opts...)
	pb.RegisterTestServiceServer(srv, interop.NewTestServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// dialH2C returns a stub connection to addr over h2c, closed when the test
// ends.
func dialH2C(t *testing.T, addr string) *stub.ClientConn {
	t.Helper()
	cc, err := stub.NewClient(addr, stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// newClient connects an interop.Client to addr.
func newClient(t *testing.T, addr string, tc transportCase) *interop.Client {
	t.Helper()
	dial := func() (stub.ClientConnInterface, func(), error) {
		cc, err := stub.NewClient(addr, stub.WithTransportCredentials(tc.clientCreds()))
		if err != nil {
			return nil, nil, err
		}
		return cc, func() { cc.Close() }, nil
	}
	conn, closeConn, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeConn)
	ch, err := channel.NewClient(addr, channel.WithTransportCredentials(tc.clientCreds()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return &interop.Client{
		Conn:    conn,
		Channel: ch,
		NewConn: dial,
		Soak: interop.SoakConfig{
			Iterations:                       5,
			PerIterationMaxAcceptableLatency: 10 * time.Second,
			OverallTimeout:                   60 * time.Second,
		},
	}
}

// TestCases runs every interop case against the TestService in this
// process, over h2c and over TLS.
func TestCases(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServer(t, tc.serverCreds())
			client := newClient(t, addr, tc)
			for _, c := range interop.Cases() {
				t.Run(c.Name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					defer cancel()
					if err := c.Run(ctx, client); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// TestCaseNames checks that the case table holds the twenty cases the
// interop scripts run, core cases first.
func TestCaseNames(t *testing.T) {
	want := []string{
		"empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong", "empty_stream",
		"timeout_on_sleeping_server", "cancel_after_begin", "cancel_after_first_response",
		"status_code_and_message", "special_status_message", "custom_metadata",
		"unimplemented_method", "unimplemented_service", "rpc_soak", "channel_soak",
		"client_compressed_unary", "server_compressed_unary", "client_compressed_streaming", "server_compressed_streaming",
	}
	got := interop.CaseNames()
	if len(got) != len(want) {
		t.Fatalf("CaseNames() = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("CaseNames()[%d] = %q, want %q", i, got[i], want[i])
		}
		c, _ := interop.LookupCase(want[i])
		if c.Compression != (i >= 16) {
			t.Errorf("case %s: Compression = %v", want[i], c.Compression)
		}
	}
}

// TestServerCompressionChecks covers what the compression cases do not: a
// compressed request that says it is not compressed must fail too.
func TestServerCompressionChecks(t *testing.T) {
	leakcheck.Check(t)
	addr := startServer(t, nil)
	ch, err := channel.NewClient(addr, channel.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tt := range []struct {
		compressor string
		expect     bool
		want       codes.Code
	}{
		{"gzip", false, codes.InvalidArgument},
		{"identity", true, codes.InvalidArgument},
		{"gzip", true, codes.OK},
		{"identity", false, codes.OK},
	} {
		req := &pb.SimpleRequest{ResponseSize: 10, Payload: &pb.Payload{Body: make([]byte, 100)}, ExpectCompressed: &pb.BoolValue{Value: tt.expect}}
		b, err := proto.MarshalOptions{}.MarshalAppend(make([]byte, channel.MsgHeaderLen), req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ch.Invoke(ctx, "/grpc.testing.TestService/UnaryCall", b, nil, &channel.CallOptions{Compressor: tt.compressor}, nil, nil)
		if got := status.Code(err); got != tt.want {
			t.Errorf("request compressed with %s, expect_compressed=%v: got %v (%v), want %v", tt.compressor, tt.expect, got, err, tt.want)
		}
	}
}

// TestHalfDuplexAndIntervals checks that HalfDuplexCall answers each
// request in order after the half-close and that interval_us delays each
// response.
func TestHalfDuplexAndIntervals(t *testing.T) {
	leakcheck.Check(t)
	cc := dialH2C(t, startServer(t, nil))
	tc := pb.NewTestServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	hd, err := tc.HalfDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int32{3, 5} {
		if err := hd.Send(&pb.StreamingOutputCallRequest{ResponseParameters: []*pb.ResponseParameters{{Size: size}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := hd.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if r, err := hd.Recv(); err != nil || len(r.GetPayload().GetBody()) != 3 {
		t.Fatalf("first response: %v, %v; want 3 bytes", r, err)
	}
	r, err := hd.Recv()
	if err != nil || len(r.GetPayload().GetBody()) != 5 {
		t.Fatalf("second response: %v, %v; want 5 bytes", r, err)
	}
	if _, err := hd.Recv(); err != io.EOF {
		t.Fatalf("end of HalfDuplexCall: %v, want io.EOF", err)
	}

	const interval = 30 * time.Millisecond
	start := time.Now()
	so, err := tc.StreamingOutputCall(ctx, &pb.StreamingOutputCallRequest{ResponseParameters: []*pb.ResponseParameters{
		{Size: 1, IntervalUs: int32(interval / time.Microsecond)},
		{Size: 1, IntervalUs: int32(interval / time.Microsecond)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := so.Recv(); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < time.Duration(i+1)*interval {
			t.Errorf("response %d after %v, want at least %v", i+1, took, time.Duration(i+1)*interval)
		}
	}
	if _, err := so.Recv(); err != io.EOF {
		t.Fatalf("end of StreamingOutputCall: %v, want io.EOF", err)
	}
}

// TestConcurrentRecvAndCloseSend receives on one goroutine while another
// half-closes, which stub.ClientStream documents as allowed (SendMsg and
// CloseSend on one goroutine, RecvMsg on another). Under the race detector
// it reports a race on channel.ClientStream's flushed field, written by
// CloseSend and read by the flush that RecvMsg's header wait does.
func TestConcurrentRecvAndCloseSend(t *testing.T) {
	leakcheck.Check(t)
	cc := dialH2C(t, startServer(t, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 20 {
		s, err := pb.NewTestServiceClient(cc).FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, err := s.Recv(); done <- err }()
		if err := s.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != io.EOF {
			t.Fatalf("Recv: %v, want io.EOF", err)
		}
	}
}
