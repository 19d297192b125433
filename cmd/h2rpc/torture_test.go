package main

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/bench/torture"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/interop"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
	"github.com/h2rpc/h2rpc/stub"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e strings.Builder
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestTortureFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"torture"}, 2, "--target HOST:PORT is required"},
		{[]string{"torture", "--target", "127.0.0.1:1", "--insecure-skip-verify"}, 2, "need --tls"},
		{[]string{"torture", "--target", "127.0.0.1:1", "--attacks", "rapid-reset,bogus"}, 2, `unknown attack "bogus"`},
		{[]string{"torture", "--target", "nohost"}, 2, "want HOST:PORT"},
		{[]string{"torture", "--target", "127.0.0.1:1", "extra"}, 2, "unexpected arguments"},
		{[]string{"torture", "--target", "127.0.0.1:1", "--probe-timeout", "200ms"}, 1, "are not answered"},
	} {
		code, _, stderr := runCmd(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func TestTortureList(t *testing.T) {
	code, out, _ := runCmd("torture", "--list")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, a := range torture.Attacks() {
		if !strings.Contains(out, a.Name) {
			t.Errorf("--list lacks %s:\n%s", a.Name, out)
		}
	}
	if !strings.Contains(out, "rapid-reset *") || strings.Contains(out, "slowloris *") {
		t.Errorf("--list stars the wrong attacks:\n%s", out)
	}
}

// TestTortureRun runs one short attack against an in-process server,
// as a table and as JSON.
func TestTortureRun(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := stub.NewServer()
	pb.RegisterTestServiceServer(srv, interop.NewTestServer())
	go srv.Serve(ln)
	defer srv.Stop()
	args := []string{"torture", "--target", ln.Addr().String(), "--attacks", "continuation",
		"--duration", "300ms", "--baseline", "200ms", "--fail-on-open"}

	code, out, stderr := runCmd(args...)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(out, "probe baseline:") || !strings.Contains(out, "continuation *") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.Contains(stderr, "torture: continuation: ") {
		t.Errorf("no progress line on stderr: %q", stderr)
	}

	code, out, _ = runCmd(append(args, "--json", "--quiet")...)
	if code != 0 {
		t.Fatalf("--json: exit %d", code)
	}
	var rep torture.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if len(rep.Attacks) != 1 || rep.Attacks[0].Name != "continuation" || rep.Baseline.Calls == 0 {
		t.Errorf("report %+v", rep)
	}
}
