package health_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/health"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
)

const (
	serving    = healthpb.HealthCheckResponse_SERVING
	notServing = healthpb.HealthCheckResponse_NOT_SERVING
	unknownSvc = healthpb.HealthCheckResponse_SERVICE_UNKNOWN
)

// start serves hs on a loopback port and returns a client of it and the
// server.
func start(t *testing.T, hs *health.Server) (healthpb.HealthClient, *stub.Server) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := stub.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(lis) }()
	cc, err := stub.NewClient(lis.Addr().String(), stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close(); s.Stop(); <-done })
	return healthpb.NewHealthClient(cc), s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCheckAndList(t *testing.T) {
	leakcheck.Check(t)
	hs := health.NewServer()
	c, _ := start(t, hs)
	ctx := ctxT(t)
	if r, err := c.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != serving {
		t.Fatalf(`Check("") = %v, %v; want SERVING`, r, err)
	}
	_, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: "nope"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("Check of an unknown service: %v, want NotFound", err)
	}
	hs.SetServingStatus("a", notServing)
	if r, err := c.Check(ctx, &healthpb.HealthCheckRequest{Service: "a"}); err != nil || r.GetStatus() != notServing {
		t.Fatalf(`Check("a") = %v, %v; want NOT_SERVING`, r, err)
	}
	l, err := c.List(ctx, &healthpb.HealthListRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Statuses) != 2 || l.Statuses[""].GetStatus() != serving || l.Statuses["a"].GetStatus() != notServing {
		t.Fatalf("List = %v", l)
	}
	for i := range 100 {
		hs.SetServingStatus(string(rune('b'+i)), serving)
	}
	if _, err := c.List(ctx, &healthpb.HealthListRequest{}); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("List of 102 services: %v, want ResourceExhausted", err)
	}
}

// recvStatus receives one status from w.
func recvStatus(t *testing.T, w stub.ServerStreamingClient[healthpb.HealthCheckResponse]) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	r, err := w.Recv()
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	return r.GetStatus()
}

func TestWatchSeesEveryChange(t *testing.T) {
	leakcheck.Check(t)
	hs := health.NewServer()
	c, _ := start(t, hs)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	w, err := c.Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if got := recvStatus(t, w); got != unknownSvc {
		t.Fatalf("first status %v, want SERVICE_UNKNOWN", got)
	}
	// Changes made faster than they are read all arrive, in order, with
	// repeats sent once.
	seq := []healthpb.HealthCheckResponse_ServingStatus{serving, notServing, notServing, serving, notServing, serving}
	for _, st := range seq {
		hs.SetServingStatus("svc", st)
	}
	want := []healthpb.HealthCheckResponse_ServingStatus{serving, notServing, serving, notServing, serving}
	for i, st := range want {
		if got := recvStatus(t, w); got != st {
			t.Fatalf("status %d: %v, want %v", i, got, st)
		}
	}
	hs.Shutdown()
	if got := recvStatus(t, w); got != notServing {
		t.Fatalf("after Shutdown: %v, want NOT_SERVING", got)
	}
	hs.SetServingStatus("svc", serving) // ignored while shut down
	hs.Resume()
	if got := recvStatus(t, w); got != serving {
		t.Fatalf("after Resume: %v, want SERVING", got)
	}
	cancel()
	if _, err := w.Recv(); status.Code(err) != codes.Canceled {
		t.Fatalf("Recv after cancel: %v, want Canceled", err)
	}
}

func TestShutdownIgnoresSetServingStatus(t *testing.T) {
	hs := health.NewServer()
	hs.SetServingStatus("a", serving)
	hs.Shutdown()
	hs.SetServingStatus("a", serving)
	ctx := context.Background()
	for _, name := range []string{"", "a"} {
		if r, err := hs.Check(ctx, &healthpb.HealthCheckRequest{Service: name}); err != nil || r.GetStatus() != notServing {
			t.Fatalf("Check(%q) after Shutdown = %v, %v", name, r, err)
		}
	}
	hs.Resume()
	hs.SetServingStatus("a", notServing)
	if r, _ := hs.Check(ctx, &healthpb.HealthCheckRequest{Service: "a"}); r.GetStatus() != notServing {
		t.Fatalf("SetServingStatus after Resume not applied: %v", r)
	}
}

// TestGracefulStopReportsNotServing checks that a watcher hears NOT_SERVING
// when GracefulStop begins, and that GracefulStop finishes once the watcher
// leaves.
func TestGracefulStopReportsNotServing(t *testing.T) {
	leakcheck.Check(t)
	hs := health.NewServer()
	c, s := start(t, hs)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	w, err := c.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got := recvStatus(t, w); got != serving {
		t.Fatalf("first status %v", got)
	}
	stopped := make(chan struct{})
	go func() { s.GracefulStop(); close(stopped) }()
	if got := recvStatus(t, w); got != notServing {
		t.Fatalf("status once GracefulStop began: %v, want NOT_SERVING", got)
	}
	cancel()
	<-stopped
}
