package health_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/manual"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/health"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
)

type echo struct{ pb.UnimplementedEchoServer }

func (echo) Unary(_ context.Context, in *pb.Request) (*pb.Response, error) {
	return &pb.Response{Payload: in.GetPayload()}, nil
}

// backend is one server of a balanced client: its health service (nil
// when it has none) and the calls it served.
type backend struct {
	addr   string
	health *health.Server
	served atomic.Int32
}

func startBackend(t *testing.T, withHealth bool) *backend {
	t.Helper()
	b := &backend{}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = lis.Addr().String()
	s := stub.NewServer(stub.UnaryInterceptor(func(ctx context.Context, req any, info *stub.UnaryServerInfo, h stub.UnaryHandler) (any, error) {
		b.served.Add(1)
		return h(ctx, req)
	}))
	pb.RegisterEchoServer(s, echo{})
	if withHealth {
		b.health = health.NewServer()
		b.health.SetServingStatus("echo", healthpb.HealthCheckResponse_SERVING)
		healthpb.RegisterHealthServer(s, b.health)
	}
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(lis) }()
	t.Cleanup(func() { s.Stop(); <-done })
	return b
}

// balancedClient returns an Echo client over backends with the service
// config sc.
func balancedClient(t *testing.T, sc string, backends ...*backend) pb.EchoClient {
	t.Helper()
	var addrs []resolver.Address
	for _, b := range backends {
		addrs = append(addrs, resolver.Address{Addr: b.addr})
	}
	r := manual.NewBuilderWithScheme("hc")
	r.InitialState(resolver.State{Addresses: addrs})
	cc, err := stub.NewClient("hc:///echo", stub.WithResolvers(r),
		stub.WithTransportCredentials(insecure.NewCredentials()), stub.WithDefaultServiceConfig(sc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return pb.NewEchoClient(cc)
}

const roundRobinHealth = `{"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": "echo"}}`

// callUntil makes calls until cond holds, for at most 10 seconds, and
// returns how many it made.
func callUntil(t *testing.T, c pb.EchoClient, cond func() bool) int {
	t.Helper()
	n := 0
	for deadline := time.Now().Add(10 * time.Second); !cond(); n++ {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %d calls", n)
		}
		if _, err := c.Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// spread makes n calls and returns how many each backend served.
func spread(t *testing.T, c pb.EchoClient, n int, backends ...*backend) []int32 {
	t.Helper()
	for _, b := range backends {
		b.served.Store(0)
	}
	for range n {
		if _, err := c.Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]int32, len(backends))
	for i, b := range backends {
		out[i] = b.served.Load()
	}
	return out
}

// TestClientHealthCheck: three servers behind round_robin with a
// healthCheckConfig; one set NOT_SERVING gets no new calls once its
// Watch has told the client, and gets them again once SERVING.
func TestClientHealthCheck(t *testing.T) {
	leakcheck.Check(t)
	bs := []*backend{startBackend(t, true), startBackend(t, true), startBackend(t, true)}
	c := balancedClient(t, roundRobinHealth, bs...)
	callUntil(t, c, func() bool { return bs[0].served.Load() > 0 && bs[1].served.Load() > 0 && bs[2].served.Load() > 0 })
	if got := spread(t, c, 300, bs...); fmt.Sprint(got) != "[100 100 100]" {
		t.Fatalf("calls per server while all serve: %v", got)
	}

	// The watcher on the client hears NOT_SERVING one message after it is
	// set; calls that were already picked may still reach the server.
	bs[1].served.Store(0)
	start := time.Now()
	bs[1].health.SetServingStatus("echo", healthpb.HealthCheckResponse_NOT_SERVING)
	// A probe of server 1 through a Watch of our own: one round trip.
	probe := healthpb.NewHealthClient(directConn(t, bs[1].addr))
	w, err := probe.Watch(ctxT(t), &healthpb.HealthCheckRequest{Service: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := w.Recv(); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("probe: %v, %v", r, err)
	}
	roundTrip := time.Since(start)
	late := spread(t, c, 10, bs...)[1]
	t.Logf("Watch round trip %v; calls to the NOT_SERVING server among the next 10: %d", roundTrip, late)
	if late > 1 {
		t.Errorf("%d of 10 calls made after one Watch round trip went to the NOT_SERVING server", late)
	}
	if got := spread(t, c, 300, bs...); fmt.Sprint(got) != "[150 0 150]" {
		t.Fatalf("calls per server with server 1 NOT_SERVING: %v", got)
	}

	bs[1].health.SetServingStatus("echo", healthpb.HealthCheckResponse_SERVING)
	callUntil(t, c, func() bool { return bs[1].served.Load() > 0 })
	if got := spread(t, c, 300, bs...); fmt.Sprint(got) != "[100 100 100]" {
		t.Fatalf("calls per server once server 1 serves again: %v", got)
	}
}

// directConn is a pick_first client of one address.
func directConn(t *testing.T, addr string) *stub.ClientConn {
	cc, err := stub.NewClient(addr, stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestClientHealthCheckUnimplemented: a server without the health service
// counts as healthy; one whose status for the service is unknown does not.
func TestClientHealthCheckUnimplemented(t *testing.T) {
	leakcheck.Check(t)
	none, unknown, serving := startBackend(t, false), startBackend(t, true), startBackend(t, true)
	unknown.health.SetServingStatus("echo", healthpb.HealthCheckResponse_SERVICE_UNKNOWN)
	c := balancedClient(t, roundRobinHealth, none, unknown, serving)
	callUntil(t, c, func() bool { return none.served.Load() > 0 && serving.served.Load() > 0 })
	if got := spread(t, c, 100, none, unknown, serving); fmt.Sprint(got) != "[50 0 50]" {
		t.Fatalf("calls per server (no health service, SERVICE_UNKNOWN, SERVING): %v", got)
	}
}

// TestPickFirstIgnoresHealthCheck: pick_first never checks health, even
// with a healthCheckConfig.
func TestPickFirstIgnoresHealthCheck(t *testing.T) {
	leakcheck.Check(t)
	b := startBackend(t, true)
	b.health.SetServingStatus("echo", healthpb.HealthCheckResponse_NOT_SERVING)
	c := balancedClient(t, `{"loadBalancingConfig": [{"pick_first": {}}], "healthCheckConfig": {"serviceName": "echo"}}`, b)
	if got := spread(t, c, 5, b); got[0] != 5 {
		t.Fatalf("pick_first sent %d of 5 calls to its NOT_SERVING server", got[0])
	}
}

// TestNoHealthCheckWithoutConfig: round_robin without a healthCheckConfig
// sends calls to a NOT_SERVING server.
func TestNoHealthCheckWithoutConfig(t *testing.T) {
	leakcheck.Check(t)
	b := startBackend(t, true)
	b.health.SetServingStatus("echo", healthpb.HealthCheckResponse_NOT_SERVING)
	c := balancedClient(t, `{"loadBalancingConfig": [{"round_robin": {}}]}`, b)
	if got := spread(t, c, 5, b); got[0] != 5 {
		t.Fatalf("round_robin without healthCheckConfig sent %d of 5 calls", got[0])
	}
}
