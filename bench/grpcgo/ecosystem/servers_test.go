package ecosystem

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	grpchealthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpctestpb "google.golang.org/grpc/interop/grpc_testing"
	grpcreflection "google.golang.org/grpc/reflection"

	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/health"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
	"github.com/h2rpc/h2rpc/stub/reflection"
)

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// startInteropServer runs `h2rpc interop-server` (which serves the test
// service, health and reflection) with args and returns its address. It
// runs as a program: h2rpc's grpc.testing code and grpc-go's register the
// same names globally, so one binary cannot link both.
func startInteropServer(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(h2rpcBin, append([]string{"interop-server", "--port=0"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		addr, ok := strings.CutPrefix(l, "listening on ")
		if !ok {
			t.Fatalf("interop-server said %q", l)
		}
		return addr
	case <-time.After(20 * time.Second):
		t.Fatal("interop-server did not say where it listens")
	}
	return ""
}

// startHealthServer serves h2rpc's health service alone, in process, and
// returns its address and the service.
func startHealthServer(t *testing.T, opts ...stub.ServerOption) (string, *health.Server) {
	t.Helper()
	lis := listen(t)
	s := stub.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	reflection.Register(s)
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(lis) }()
	t.Cleanup(func() { s.Stop(); <-done })
	return lis.Addr().String(), hs
}

// testService is grpc-go's test service with no method implemented:
// reflection needs only its descriptors.
type testService struct {
	grpctestpb.UnimplementedTestServiceServer
}

// startGRPCGo serves with grpc-go what interop-server serves: the test
// service, the health service and reflection.
func startGRPCGo(t *testing.T) (string, *grpchealth.Server) {
	t.Helper()
	lis := listen(t)
	s := grpc.NewServer()
	grpctestpb.RegisterTestServiceServer(s, testService{})
	hs := grpchealth.NewServer()
	grpchealthpb.RegisterHealthServer(s, hs)
	grpcreflection.Register(s)
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(lis) }()
	t.Cleanup(func() { s.Stop(); <-done })
	return lis.Addr().String(), hs
}
