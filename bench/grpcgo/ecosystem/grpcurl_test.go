package ecosystem

import (
	"strings"
	"testing"
)

// TestGrpcurlSameAsGRPCGo runs the same grpcurl commands against `h2rpc
// interop-server` and a grpc-go server that registers the same services
// with reflection, and checks that the outputs are identical.
func TestGrpcurlSameAsGRPCGo(t *testing.T) {
	ours := startInteropServer(t)
	theirs, _ := startGRPCGo(t)
	for _, args := range [][]string{
		{"list"},
		{"list", "grpc.health.v1.Health"},
		{"list", "grpc.testing.TestService"},
		{"describe", "grpc.health.v1.Health"},
		{"describe", "grpc.health.v1.HealthCheckResponse"},
		{"describe", "grpc.health.v1.HealthCheckResponse.ServingStatus"},
		{"describe", "grpc.health.v1.HealthListResponse"},
		{"describe", "grpc.reflection.v1.ServerReflection"},
		{"describe", "grpc.reflection.v1.ServerReflectionRequest"},
		{"describe", "grpc.reflection.v1alpha.ServerReflectionResponse"},
		{"describe", "grpc.testing.TestService"},
		{"describe", "grpc.testing.TestService.UnaryCall"},
		{"describe", "grpc.testing.Payload"},
		{"describe", "grpc.testing.PayloadType"},
		{"describe", "grpc.testing.EchoStatus"},
		{"describe", "grpc.testing.BoolValue"},
		{"describe", "no.such.Symbol"},
	} {
		name := strings.Join(args, " ")
		a, ca := run(t, grpcurl, append([]string{"-plaintext", ours}, args...)...)
		b, cb := run(t, grpcurl, append([]string{"-plaintext", theirs}, args...)...)
		if a != b || ca != cb {
			t.Errorf("grpcurl %s differs:\nh2rpc (exit %d):\n%s\ngrpc-go (exit %d):\n%s", name, ca, a, cb, b)
			continue
		}
		if name != "describe no.such.Symbol" && ca != 0 {
			t.Errorf("grpcurl %s failed on both (exit %d):\n%s", name, ca, a)
		}
		t.Logf("grpcurl %s: same output (%d lines, exit %d)", name, strings.Count(a, "\n"), ca)
	}
}
