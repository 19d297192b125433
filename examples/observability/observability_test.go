package observability_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/examples/observability"
	"github.com/h2rpc/h2rpc/stub"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var spanLine = regexp.MustCompile(`span helloworld.Greeter/SayHello kind=(\w+) trace=(\w+) span=(\w+) parent=(\w+) status=Unset`)

// One call: linked spans on both sides, the call in the server's metrics
// at /metrics on the gRPC port, and a log record on each side.
func TestObservability(t *testing.T) {
	var srvSpans, cliSpans, logs syncBuf
	l := slog.New(slog.NewTextHandler(&logs, nil))
	s, err := observability.Server(&srvSpans, l)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(lis)
	defer s.Stop()
	addr := lis.Addr().String()
	cc, err := stub.NewClient(addr, append(observability.DialOptions(&cliSpans, l), stub.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r, err := pb.NewGreeterClient(cc).SayHello(ctx, &pb.HelloRequest{Name: "otel"}, stub.StaticMethod()); err != nil || r.GetMessage() != "Hello otel" {
		t.Fatalf("SayHello: %v, %v", r, err)
	}

	var metrics string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if metrics = string(b); strings.Contains(metrics, "grpc_server_call_duration_seconds_count") {
			break
		}
	}
	for _, want := range []string{
		`grpc_server_call_started_total{grpc_method="helloworld.Greeter/SayHello",otel_scope_name="github.com/h2rpc/h2rpc/otel"`,
		`grpc_server_call_duration_seconds_count{grpc_method="helloworld.Greeter/SayHello",grpc_status="OK",otel_scope_name="github.com/h2rpc/h2rpc/otel"`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}

	c, sv := spanLine.FindStringSubmatch(cliSpans.String()), spanLine.FindStringSubmatch(srvSpans.String())
	if c == nil || sv == nil || c[1] != "client" || sv[1] != "server" || c[2] != sv[2] || sv[4] != c[3] {
		t.Errorf("spans not linked:\nclient %q\nserver %q", cliSpans.String(), srvSpans.String())
	}
	if n := strings.Count(logs.String(), `msg="h2rpc: call ended"`); n != 2 {
		t.Errorf("%d call records, want 2:\n%s", n, logs.String())
	}
}
