package health

import (
	"testing"

	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
)

// TestSlowWatcherBounded checks that a watcher that does not read holds at
// most maxPending statuses, the latest last.
func TestSlowWatcherBounded(t *testing.T) {
	s := NewServer()
	w := &watcher{wake: make(chan struct{}, 1)}
	s.watchers["s"] = map[*watcher]struct{}{w: {}}
	for i := range 10000 {
		s.SetServingStatus("s", healthpb.HealthCheckResponse_ServingStatus(1+i%2))
	}
	s.SetServingStatus("s", healthpb.HealthCheckResponse_SERVICE_UNKNOWN)
	if n := len(w.pending); n == 0 || n > maxPending {
		t.Fatalf("%d statuses queued, want 1 to %d", n, maxPending)
	}
	if last := w.pending[len(w.pending)-1]; last != healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Fatalf("last queued status %v, want SERVICE_UNKNOWN", last)
	}
	if cap(w.pending) > 2*maxPending {
		t.Fatalf("queue capacity %d grew past %d", cap(w.pending), 2*maxPending)
	}
}
