package grpcgo

import (
	"os/exec"
	"strings"
	"testing"
)

// grpcDeps lists the packages of the module in dir, with their tests, and
// returns those of that module and those of grpc-go among them and among
// their dependencies. Packages that fail to load are listed all the same.
func grpcDeps(t *testing.T, dir string) (own, grpc []string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-deps", "-test", "./...")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list in %s: %v\n%s", dir, err, ee.Stderr)
		}
		t.Fatalf("go list in %s: %v", dir, err)
	}
	for _, p := range strings.Fields(string(out)) {
		switch {
		case p == "google.golang.org/grpc" || strings.HasPrefix(p, "google.golang.org/grpc/"):
			grpc = append(grpc, p)
		case strings.HasPrefix(p, "github.com/h2rpc/h2rpc/"):
			own = append(own, p)
		}
	}
	if len(own) == 0 {
		t.Fatalf("go list in %s listed none of the module's packages:\n%s", dir, out)
	}
	return own, grpc
}

// TestCoreModuleDoesNotImportGRPC proves that the h2rpc module, tests
// included, builds without grpc-go: only this module may import it.
func TestCoreModuleDoesNotImportGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("lists every package of the root module")
	}
	own, grpc := grpcDeps(t, "../..")
	for _, p := range own {
		if strings.HasPrefix(p, "github.com/h2rpc/h2rpc/bench/grpcgo") {
			t.Errorf("the root module lists %s, a package of this module", p)
		}
	}
	if len(grpc) > 0 {
		t.Errorf("the root module depends on grpc-go: %s", strings.Join(grpc, " "))
	}
}

// TestDepsCheckSeesGRPC shows that the check above would see grpc-go: it
// finds it among this module's dependencies.
func TestDepsCheckSeesGRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("lists every package of this module")
	}
	if _, grpc := grpcDeps(t, "."); len(grpc) == 0 {
		t.Error("no grpc-go package among this module's dependencies")
	}
}
