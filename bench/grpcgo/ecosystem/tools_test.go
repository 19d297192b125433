package ecosystem

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The pinned tools, found by TestMain, and the h2rpc command it builds.
var grpcurl, healthProbe, h2rpcBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ecosystem")
	if err == nil {
		err = findTools()
	}
	if err == nil {
		h2rpcBin = filepath.Join(dir, "h2rpc")
		var out []byte
		if out, err = exec.Command("go", "build", "-o", h2rpcBin, "github.com/h2rpc/h2rpc/cmd/h2rpc").CombinedOutput(); err != nil {
			err = fmt.Errorf("building h2rpc: %v\n%s", err, out)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ecosystem:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// findTools takes the tools from the environment, or else has the
// repository's Makefile install them and say where they are.
func findTools() error {
	grpcurl, healthProbe = os.Getenv("H2RPC_GRPCURL"), os.Getenv("H2RPC_HEALTH_PROBE")
	if grpcurl == "" || healthProbe == "" {
		root, err := filepath.Abs("../../..")
		if err != nil {
			return err
		}
		var stderr bytes.Buffer
		cmd := exec.Command("make", "-s", "-C", root, "ecosystem-env")
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("make ecosystem-env: %v\n%s", err, stderr.Bytes())
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "H2RPC_GRPCURL="); ok {
				grpcurl = v
			}
			if v, ok := strings.CutPrefix(sc.Text(), "H2RPC_HEALTH_PROBE="); ok {
				healthProbe = v
			}
		}
	}
	for _, p := range []string{grpcurl, healthProbe} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("tool missing (run make ecosystem-tools): %v", err)
		}
	}
	return nil
}

// run runs a tool and returns its combined output and exit code.
func run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", bin, err)
		}
		return string(out), ee.ExitCode()
	}
	return string(out), 0
}
