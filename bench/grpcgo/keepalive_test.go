package grpcgo

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	h2keepalive "github.com/h2rpc/h2rpc/channel/keepalive"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stream"
	"github.com/h2rpc/h2rpc/stub"
	"google.golang.org/grpc"
	grpcinsecure "google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// acceptCounter counts the connections a listener accepts and the bytes
// they read.
type acceptCounter struct {
	net.Listener
	conns atomic.Int32
	read  atomic.Int64
}

func (l *acceptCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.conns.Add(1)
	return &readCounter{Conn: c, n: &l.read}, nil
}

type readCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestGRPCGoClientThroughMaxConnectionAge: grpc-go's client calling our
// server without pause while the server ends each connection after about
// 500 ms (gRFC A9) sees no call fail across several rotations.
func TestGRPCGoClientThroughMaxConnectionAge(t *testing.T) {
	lis := &acceptCounter{Listener: listen(t)}
	s := stub.NewServer(stub.KeepaliveParams(h2keepalive.ServerParameters{MaxConnectionAge: 500 * time.Millisecond, MaxConnectionAgeGrace: 2 * time.Second}))
	s.RegisterService(&H2RPCServiceDesc, Echo{})
	stop := serve(s, lis)
	defer stop()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(grpcinsecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := grpcClient{cc}
	ctx := context.Background()
	calls := 0
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); calls++ {
		if _, err := c.Unary(ctx, &wrapperspb.BytesValue{Value: payload1B}); err != nil {
			t.Fatalf("call %d, connection %d: %v", calls, lis.conns.Load(), err)
		}
	}
	if n := lis.conns.Load(); n < 4 {
		t.Errorf("%d connections in 4s with a 500ms age", n)
	}
	t.Logf("%d calls over %d connections", calls, lis.conns.Load())
}

// startGRPCServer serves the benchmark service with grpc-go and the given
// ping policy.
func startGRPCServer(t *testing.T, ep keepalive.EnforcementPolicy) *acceptCounter {
	lis := &acceptCounter{Listener: listen(t)}
	s := grpc.NewServer(grpc.KeepaliveEnforcementPolicy(ep))
	s.RegisterService(&GRPCServiceDesc, Echo{})
	t.Cleanup(serve(s, lis))
	return lis
}

// TestOurKeepaliveWithinGRPCGoPolicy: our client pinging an idle connection
// every 200 ms (the raw connection setting; users get at least 10 s) is
// accepted by a grpc-go server whose policy allows it: the connection
// stays, and the pings did reach the server.
func TestOurKeepaliveWithinGRPCGoPolicy(t *testing.T) {
	lis := startGRPCServer(t, keepalive.EnforcementPolicy{MinTime: 100 * time.Millisecond, PermitWithoutStream: true})
	cc, err := stub.NewClient(lis.Addr().String(), stub.WithTransportCredentials(insecure.NewCredentials()),
		stub.WithChannelOptions(channel.WithConnConfig(stream.Config{KeepaliveTime: 200 * time.Millisecond, KeepaliveTimeout: 5 * time.Second, KeepalivePermitWithoutStream: true})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := h2rpcClient{cc}
	ctx := context.Background()
	if _, err := c.Unary(ctx, &wrapperspb.BytesValue{Value: payload1B}); err != nil {
		t.Fatal(err)
	}
	before := lis.read.Load()
	time.Sleep(2 * time.Second)
	const pingFrame = 9 + 8
	if got := lis.read.Load() - before; got < 5*pingFrame {
		t.Errorf("server read %d bytes in 2s of keepalive every 200ms", got)
	}
	if _, err := c.Unary(ctx, &wrapperspb.BytesValue{Value: payload1B}); err != nil {
		t.Fatal(err)
	}
	if n := lis.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1: the server closed the pinging one", n)
	}
}

// TestOurKeepaliveTooManyPingsFromGRPCGo: a grpc-go server with its default
// policy (one PING per five minutes, none without a call) sends our
// pinging client GOAWAY ENHANCE_YOUR_CALM "too_many_pings"; the connection
// keeps it for its owner, and a call in flight fails UNAVAILABLE with it.
func TestOurKeepaliveTooManyPingsFromGRPCGo(t *testing.T) {
	lis := startGRPCServer(t, keepalive.EnforcementPolicy{})
	t.Run("idle-connection", func(t *testing.T) {
		nc, err := net.Dial("tcp", lis.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn, err := stream.NewClientConn(nc, &stream.Config{KeepaliveTime: 50 * time.Millisecond, KeepalivePermitWithoutStream: true})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { conn.Close(); conn.Wait() }()
		select {
		case <-conn.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("connection still open after 10s of pings every 50ms")
		}
		ga := conn.PeerGoAway()
		if ga == nil || !ga.TooManyPings() || ga.Debug != "too_many_pings" {
			t.Fatalf("GOAWAY %v, want ENHANCE_YOUR_CALM too_many_pings", ga)
		}
	})
	t.Run("call-in-flight", func(t *testing.T) {
		cc, err := stub.NewClient(lis.Addr().String(), stub.WithTransportCredentials(insecure.NewCredentials()),
			stub.WithChannelOptions(channel.WithConnConfig(stream.Config{KeepaliveTime: 50 * time.Millisecond})))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := h2rpcClient{cc}.PingPong(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = s.RecvMsg(new(wrapperspb.BytesValue))
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "too_many_pings") {
			t.Fatalf("call ended with %v, want UNAVAILABLE too_many_pings", err)
		}
	})
}
