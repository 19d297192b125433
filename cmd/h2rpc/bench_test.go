package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/interop"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/health"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
	"github.com/h2rpc/h2rpc/stub/reflection"
)

// benchServer serves the interop service (over h2c unless opts say
// otherwise), with health and reflection when reflect is set, and
// returns its address.
func benchServer(t *testing.T, reflect bool, opts ...stub.ServerOption) string {
	addr, _ := benchServerStub(t, reflect, opts...)
	return addr
}

func benchServerStub(t *testing.T, reflect bool, opts ...stub.ServerOption) (string, *stub.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := stub.NewServer(opts...)
	pb.RegisterTestServiceServer(srv, interop.NewTestServer())
	if reflect {
		healthpb.RegisterHealthServer(srv, health.NewServer())
		reflection.Register(srv)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return ln.Addr().String(), srv
}

func TestBenchBadInput(t *testing.T) {
	leakcheck.Check(t)
	addr := benchServer(t, false)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := closed.Addr().String()
	closed.Close()
	unary := []string{"bench", "-n", "5", "--call", "grpc.testing.TestService.UnaryCall"}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench", "--insecure", addr}, 2, "--call package.Service.Method is required"},
		{[]string{"bench", "--insecure", "--call", "grpc.testing.TestService.Nope", addr}, 2,
			"unknown method Nope in service grpc.testing.TestService, which has EmptyCall, UnaryCall"},
		{[]string{"bench", "--insecure", "--call", "grpc.testing.NoService.Call", addr}, 2, "unknown service grpc.testing.NoService"},
		{append(unary, "--insecure", "-d", `{"responseSize": "lots"}`, addr), 2, "the request JSON does not match grpc.testing.SimpleRequest"},
		{append(unary, "--insecure", "-d", `{"noSuchField": 1}`, addr), 2, "the request JSON does not match grpc.testing.SimpleRequest"},
		{append(unary, "--insecure", "-d", `not json`, addr), 2, "the request data is not JSON"},
		{append(unary, "--insecure", unreachable), 1, "cannot connect to " + unreachable + ": connect: connection refused; is the server running"},
		{append(unary, addr), 1, "the server seems to speak plaintext; add --insecure"},
		{append(unary, "--insecure", "nocolon"), 2, `target "nocolon" is not HOST:PORT`},
		{append(unary, "--insecure", "-c", "2", "--connections", "3", addr), 2, "--connections 3 is more than -c 2"},
		{append(unary, "--insecure", "-O", "xml", addr), 2, `-O "xml": the formats are summary, json, csv and html`},
		{append(unary, "--insecure", "--skipTLS", addr), 2, "--skipTLS is a TLS setting and --insecure turns TLS off"},
		{append(unary, "--insecure", "-m", `{"a": 1}`, addr), 2, "-m must be a JSON object of strings"},
		{append(unary, "--insecure", "--load-schedule", "step", "--load-start", "10", addr), 2, "needs a positive step duration"},
		{append(unary, "--insecure", "--protoset", "/nonexistent.protoset", addr), 2, "protoset: open /nonexistent.protoset"},
		{[]string{"bench", "--insecure", "--call", "other.Service.Method", addr}, 2, "other.Service is not a built-in service, so it was looked up by reflection: the server has no reflection service"},
		{append(unary, "--insecure", "--payload-size", "4", "-d", "{}", addr), 2, "give one of -d, -D and --payload-size"},
	} {
		code, stdout, stderr := runCmd(c.args...)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if code != c.code || !strings.Contains(stderr, c.want) || len(lines) != 1 || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and one line with %q", c.args, code, stdout, stderr, c.code, c.want)
		}
	}
}

func TestBenchJSONHasGhzFields(t *testing.T) {
	leakcheck.Check(t)
	addr := benchServer(t, false)
	code, stdout, stderr := runCmd("bench", "-q", "--insecure", "--call", "grpc.testing.TestService/UnaryCall", "--payload-size", "16",
		"-c", "4", "--connections", "2", "-n", "40", "-O", "json", addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"count", "total", "average", "fastest", "slowest", "rps", "latencyDistribution", "statusCodeDistribution", "errorDistribution", "h2rpc"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("-O json lacks %q", k)
		}
	}
	if rep["count"] != 40.0 || rep["statusCodeDistribution"].(map[string]any)["OK"] != 40.0 {
		t.Fatalf("count %v, codes %v", rep["count"], rep["statusCodeDistribution"])
	}
	wire := rep["h2rpc"].(map[string]any)["wire"].(map[string]any)
	if wire["connections"] != 2.0 || wire["framesSent"].(map[string]any)["HEADERS"] != 40.0 {
		t.Fatalf("wire %v", wire)
	}
}

func TestBenchDescriptorSources(t *testing.T) {
	leakcheck.Check(t)
	addr := benchServer(t, true)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	set := filepath.Join(dir, "test.protoset")
	out, err := exec.Command("protoc", "-I"+root, "--include_imports", "--descriptor_set_out="+set, "interop/grpc_testing/test.proto").CombinedOutput()
	if err != nil {
		t.Fatalf("protoc: %v: %s", err, out)
	}
	lines := filepath.Join(dir, "requests.jsonl")
	if err := os.WriteFile(lines, []byte("{\"responseSize\": 3}\n{\"responseSize\": 4}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"proto", []string{"--proto", "interop/grpc_testing/test.proto", "--import-paths", root, "--call", "grpc.testing.TestService.UnaryCall", "-D", lines}},
		{"protoset", []string{"--protoset", set, "--call", "grpc.testing.TestService.UnaryCall", "-d", `[{"responseSize": 1}, {"responseSize": 2}]`}},
		{"reflection", []string{"--call", "grpc.health.v1.Health.Check", "-d", `{"service": ""}`}},
		{"server stream", []string{"--call", "grpc.testing.TestService.StreamingOutputCall", "-d", `{"responseParameters": [{"size": 2}, {"size": 2}]}`}},
	} {
		args := append([]string{"bench", "-q", "--insecure", "-c", "2", "-n", "10", "-O", "json"}, c.args...)
		code, stdout, stderr := runCmd(append(args, addr)...)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", c.name, code, stderr)
			continue
		}
		var rep struct {
			Count  uint64
			Codes  map[string]uint64 `json:"statusCodeDistribution"`
			Errors map[string]uint64 `json:"errorDistribution"`
		}
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Count != 10 || rep.Codes["OK"] != 10 {
			t.Errorf("%s: count %d codes %v errors %v", c.name, rep.Count, rep.Codes, rep.Errors)
		}
	}
}

func TestBenchOutputs(t *testing.T) {
	leakcheck.Check(t)
	addr := benchServer(t, false)
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	code, stdout, stderr := runCmd("bench", "-q", "--insecure", "--call", "grpc.testing.TestService.EmptyCall",
		"-c", "2", "-z", "1200ms", "--interval", "200ms", "-O", "csv", "--html", html, addr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(rows) < 5 || !strings.HasPrefix(rows[0], "elapsed (s),calls,errors,calls/s,p50 (ms)") {
		t.Fatalf("csv:\n%s", stdout)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"latency-cdf", "latency-histogram", "throughput", "latency-time", "wire-frames"} {
		if !strings.Contains(string(page), `id="`+id+`"`) {
			t.Errorf("the HTML report lacks the %s chart", id)
		}
	}
	if strings.Contains(string(page), "http://") && strings.Count(string(page), "http://") != strings.Count(string(page), "http://www.w3.org/2000/svg") {
		t.Error("the HTML report refers to the network")
	}
	code, stdout, stderr = runCmd("bench", "-q", "--insecure", "--call", "grpc.testing.TestService.EmptyCall", "-n", "20", addr)
	if code != 0 || !strings.Contains(stdout, "Requests/sec:") || !strings.Contains(stdout, "[OK]   20 responses") || !strings.Contains(stdout, "frames sent     DATA 20, HEADERS 20") {
		t.Fatalf("summary: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func TestBenchTLS(t *testing.T) {
	leakcheck.Check(t)
	cert := interop.TestServerCertificate()
	addr := benchServer(t, false, stub.Creds(credentials.NewServerTLSFromCert(&cert)))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, interop.TestCAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	call := []string{"bench", "-q", "-n", "20", "-c", "2", "--call", "grpc.testing.TestService.EmptyCall", "-m", `{"x-user": "bench"}`, "--token", "secret"}
	code, stdout, stderr := runCmd(append(call, "--cacert", ca, "--cname", interop.TestServerName, "-O", "json", addr)...)
	if code != 0 || !strings.Contains(stdout, `"OK": 20`) {
		t.Fatalf("TLS with the test CA: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = runCmd(append(call, addr)...)
	if code != 1 || !strings.Contains(stderr, "signed by an unknown authority: give its CA with --cacert") {
		t.Fatalf("TLS without the CA: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCmd(append(call, "--insecure", addr)...)
	if code != 1 || !strings.Contains(stderr, "wants TLS, drop --insecure") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("h2c against a TLS server: exit %d, %s", code, stderr)
	}
}

// A server stopped mid-run: exit status 1, a one-line message, and the
// partial results.
func TestBenchServerGoesAway(t *testing.T) {
	leakcheck.Check(t)
	addr, srv := benchServerStub(t, false)
	time.AfterFunc(500*time.Millisecond, srv.Stop)
	code, stdout, stderr := runCmd("bench", "-q", "--insecure", "--call", "grpc.testing.TestService.EmptyCall", "-c", "4", "-z", "1m", addr)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	if !strings.HasPrefix(stderr, "bench: the run ended early: the server went away after ") || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("stderr %q", stderr)
	}
	for _, want := range []string{"[OK]", "[Unavailable]", "The run ended early: the server went away", "Requests/sec:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the partial results lack %q:\n%s", want, stdout)
		}
	}
}
