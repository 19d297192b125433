package ecosystem

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcinsecure "google.golang.org/grpc/credentials/insecure"
	grpchealthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/stub"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
)

// TestHealthProbe runs grpc-health-probe against h2rpc's health service:
// SERVING (exit 0), NOT_SERVING after SetServingStatus (exit 4), an
// unknown service (an RPC failure: exit 3), nothing listening (exit 2), a
// bad flag (exit 1); and over TLS.
func TestHealthProbe(t *testing.T) {
	addr, hs := startHealthServer(t)
	hs.SetServingStatus("app", healthpb.HealthCheckResponse_SERVING)
	probe := func(wantCode int, wantText string, args ...string) {
		t.Helper()
		out, code := run(t, healthProbe, args...)
		if code != wantCode || !strings.Contains(out, wantText) {
			t.Errorf("grpc-health-probe %v: exit %d, output %q; want exit %d with %q", args, code, out, wantCode, wantText)
		}
	}
	probe(0, "status: SERVING", "-addr", addr)
	probe(0, "status: SERVING", "-addr", addr, "-service", "app")
	hs.SetServingStatus("app", healthpb.HealthCheckResponse_NOT_SERVING)
	probe(4, "service unhealthy (responded with \"NOT_SERVING\")", "-addr", addr, "-service", "app")
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	probe(4, "service unhealthy (responded with \"NOT_SERVING\")", "-addr", addr)
	probe(3, "code = NotFound desc = unknown service", "-addr", addr, "-service", "nope")
	hs.Resume()
	probe(0, "status: SERVING", "-addr", addr, "-service", "app")

	lis := listen(t)
	dead := lis.Addr().String()
	lis.Close()
	probe(2, "failed to connect service", "-addr", dead, "-connect-timeout", "2s")
	probe(1, "", "-addr", addr, "-no-such-flag")

	// The interop test certificates, for *.test.google.fr.
	creds, err := credentials.NewServerTLSFromFile(interopCerts+"/server1.pem", interopCerts+"/server1.key")
	if err != nil {
		t.Fatal(err)
	}
	tlsAddr, tlsHS := startHealthServer(t, stub.Creds(creds))
	ca := interopCerts + "/ca.pem"
	probe(0, "status: SERVING", "-addr", tlsAddr, "-tls", "-tls-ca-cert", ca, "-tls-server-name", "foo.test.google.fr")
	tlsHS.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	probe(4, "NOT_SERVING", "-addr", tlsAddr, "-tls", "-tls-ca-cert", ca, "-tls-server-name", "foo.test.google.fr")
}

// interopCerts is the directory of h2rpc's interop test certificates.
const interopCerts = "../../../interop/testdata"

// TestGRPCGoWatchSeesEveryChange has grpc-go's generated health client
// watch h2rpc's health service through a sequence of changes.
func TestGRPCGoWatchSeesEveryChange(t *testing.T) {
	addr, hs := startHealthServer(t)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(grpcinsecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w, err := grpchealthpb.NewHealthClient(conn).Watch(ctx, &grpchealthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	recv := func() grpchealthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		r, err := w.Recv()
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		return r.GetStatus()
	}
	if got := recv(); got != grpchealthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Fatalf("first status %v", got)
	}
	// Set faster than read: grpc-go's own server would keep only the
	// latest; h2rpc's sends each change.
	seq := []healthpb.HealthCheckResponse_ServingStatus{1, 2, 1, 2, 1, 2, 3, 1}
	for _, st := range seq {
		hs.SetServingStatus("svc", st)
	}
	for i, st := range seq {
		if got := recv(); int32(got) != int32(st) {
			t.Fatalf("change %d: %v, want %v", i, got, st)
		}
	}
	// A change after a pause, and Shutdown.
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	if got := recv(); got != grpchealthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("after a pause: %v", got)
	}
	hs.Resume()
	if got := recv(); got != grpchealthpb.HealthCheckResponse_SERVING {
		t.Fatalf("after Resume: %v", got)
	}
}

// rawCodec sends and receives raw bytes, to send malformed messages.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// TestMalformedHealthRequests sends the same malformed requests to
// h2rpc's and grpc-go's health services and checks that they fail with
// the same codes.
func TestMalformedHealthRequests(t *testing.T) {
	ours, _ := startHealthServer(t)
	theirs, _ := startGRPCGo(t)
	codesOf := func(addr string) []codes.Code {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(grpcinsecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var out []codes.Code
		for _, req := range [][]byte{
			{0x0a, 0x05, 'a'},        // a string longer than the message
			{0x0a, 0x02, 0xff, 0xfe}, // a service name that is not UTF-8
			{0x0b},                   // a group start with no end
			{0x08, 0x01},             // field 1 as a varint: both read it as an unknown field
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var reply []byte
			err := conn.Invoke(ctx, "/grpc.health.v1.Health/Check", &req, &reply, grpc.ForceCodec(rawCodec{}))
			out = append(out, status.Code(err))
			s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/grpc.health.v1.Health/Watch", grpc.ForceCodec(rawCodec{}))
			if err == nil {
				if err = s.SendMsg(&req); err == nil {
					s.CloseSend()
					err = s.RecvMsg(&reply)
				}
			}
			out = append(out, status.Code(err))
			cancel()
		}
		return out
	}
	a, b := codesOf(ours), codesOf(theirs)
	t.Logf("h2rpc: %v; grpc-go: %v", a, b)
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("request %d (%s): h2rpc %v, grpc-go %v", i/2, []string{"Check", "Watch"}[i%2], a[i], b[i])
		}
		if a[i] == codes.OK && i/2 < 3 {
			t.Errorf("request %d was accepted", i/2)
		}
	}
}
