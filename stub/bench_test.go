package stub_test

import (
	"testing"

	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

// BenchmarkUnary measures a unary round trip of a 1-byte payload over
// loopback TCP, one call at a time; allocations are the client's and the
// server's together.
func BenchmarkUnary(b *testing.B) {
	e := newEnv(b, envConfig{})
	ctx := ctxT(b)
	req := &pb.Request{Payload: "x"}
	if _, err := e.client.Unary(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.client.Unary(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnaryParallel is BenchmarkUnary with GOMAXPROCS callers sharing
// one connection.
func BenchmarkUnaryParallel(b *testing.B) {
	e := newEnv(b, envConfig{})
	ctx := ctxT(b)
	if _, err := e.client.Unary(ctx, &pb.Request{Payload: "x"}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb_ *testing.PB) {
		req := &pb.Request{Payload: "x"}
		for pb_.Next() {
			if _, err := e.client.Unary(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUnaryRetryPolicy is BenchmarkUnary on a method with a retry
// policy, whose calls succeed first time: it shows what the policy costs.
func BenchmarkUnaryRetryPolicy(b *testing.B) {
	e := newEnv(b, envConfig{copts: []stub.DialOption{stub.WithDefaultServiceConfig(`{"methodConfig": [{"name": [{}],
		"retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2,
		"retryableStatusCodes": ["UNAVAILABLE"]}}]}`)}})
	ctx := ctxT(b)
	req := &pb.Request{Payload: "x"}
	if _, err := e.client.Unary(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.client.Unary(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
