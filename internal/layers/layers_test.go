package layers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// modulePath is the import path of this module.
const modulePath = "github.com/h2rpc/h2rpc"

// layers maps each layer, named by its path below the module, to the layers it
// may import besides its own packages and the shared internal ones. A
// package belongs to the layer of the longest name that is its path or a
// parent of it.
var layers = map[string][]string{
	"frame":   nil,
	"hpack":   {"frame"},
	"stream":  {"frame", "hpack"},
	"codec":   nil,
	"channel": {"frame", "hpack", "stream", "codec"},
	"stub":    {"frame", "hpack", "stream", "codec", "channel"},

	// Gossip stands beside the RPC layers. Only its resolver and announcer
	// may use channel's resolver API and the stub; the RPC layers never
	// import gossip.
	"gossip":           nil,
	"gossip/resolver":  {"gossip", "channel"},
	"gossip/announcer": {"gossip", "channel", "stub"},
	// The membership service, and the thin clients that stream it.
	// Its tests serve the helloworld example through announced members.
	"gossip/membership": {"gossip", "gossip/resolver", "gossip/announcer", "channel", "stub", "codec", "examples"},

	// On top: users of the library.
	"interop":  {"codec", "channel", "stub"},
	"examples": {"codec", "channel", "stub"},
	// The cluster example shows RPC over gossip.
	"examples/cluster": {"codec", "channel", "stub", "examples", "gossip", "gossip/resolver", "gossip/announcer"},
	// bench drives servers; its flood tests serve the interop service.
	"bench": {"frame", "hpack", "stream", "codec", "channel", "stub", "interop"},
	"cmd":   {"frame", "hpack", "stream", "codec", "channel", "stub", "gossip", "bench", "interop", "internal/clusterdemo"},

	// The shared internal packages, which every layer may use, import no
	// other layer.
	"internal": nil,
	// The generated test services (internal/testpb/editionspb too) import
	// what generated code does.
	"internal/testpb": {"codec", "channel", "stub"},
	// Test drivers over every layer: randomized call lifecycles and the
	// soak, used only by tests.
	"internal/lifecycle": {"frame", "hpack", "stream", "codec", "channel", "stub"},
	"internal/soak":      {"frame", "hpack", "stream", "codec", "channel", "stub"},
	// A service that fails on purpose, for tests of retries and hedging.
	"internal/faultsvc": {"codec", "channel", "stub"},
	// The cluster demo's servers, client and measurements, shared by the
	// demo command and its process-level tests.
	"internal/clusterdemo": {"codec", "channel", "stub", "gossip", "gossip/resolver", "gossip/announcer", "gossip/membership", "examples"},
}

// Subpackages of these layers must not import the layer's own root package
// (channel/metadata must not import channel: channel imports it).
var leaves = []string{"channel"}

// layers whose packages are examples for users, which must not import the
// internal packages, as users cannot.
var public = []string{"examples"}

// testHelpers are imported only by tests.
var testHelpers = []string{"frame/frametest", "channel/resolver/internal/resolvertest", "channel/balancer/internal/testutils", "internal/leakcheck", "internal/testcert", "internal/testpb", "internal/testpb/editionspb", "internal/lifecycle", "internal/soak", "internal/faultsvc"}

// modules are the only modules the module may depend on.
var modules = []string{"golang.org/x/net", "golang.org/x/text", "google.golang.org/protobuf"}

// goPackage is what the checks need to know of a package, as `go list -json`
// prints it.
type goPackage struct {
	ImportPath   string
	Standard     bool
	DepOnly      bool
	ForTest      string
	Module       *struct{ Path string }
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// layerOf returns the layer of a path below the module, or "" if it has none.
func layerOf(rel string) string {
	best := ""
	for l := range layers {
		if (rel == l || strings.HasPrefix(rel, l+"/")) && len(l) > len(best) {
			best = l
		}
	}
	return best
}

// rel returns path below the module, and whether path is in it.
func rel(path string) (string, bool) {
	if path == modulePath {
		return "", true
	}
	return strings.CutPrefix(path, modulePath+"/")
}

// check returns what breaks the rules among pkgs, the module's packages
// (with the packages they depend on, for the module check), and requires,
// the modules the module's go.mod requires. The result is sorted.
func check(pkgs []goPackage, requires []string) []string {
	var bad []string
	for _, m := range requires {
		if !slices.Contains(modules, m) {
			bad = append(bad, fmt.Sprintf("go.mod requires %s; the module may depend only on %s", m, strings.Join(modules, ", ")))
		}
	}
	for _, p := range pkgs {
		if p.Module != nil && p.Module.Path != modulePath && !slices.Contains(modules, p.Module.Path) {
			bad = append(bad, fmt.Sprintf("%s is built from module %s; the module may depend only on %s", p.ImportPath, p.Module.Path, strings.Join(modules, ", ")))
		}
		from, ok := rel(p.ImportPath)
		if !ok || p.DepOnly || p.ForTest != "" || strings.HasSuffix(p.ImportPath, ".test") {
			continue
		}
		layer := layerOf(from)
		if layer == "" {
			bad = append(bad, fmt.Sprintf("%s is in no layer; add its directory to the table in internal/layers", p.ImportPath))
			continue
		}
		for _, imp := range p.Imports {
			bad = append(bad, checkImport(from, layer, imp, false)...)
		}
		for _, imp := range slices.Concat(p.TestImports, p.XTestImports) {
			bad = append(bad, checkImport(from, layer, imp, true)...)
		}
	}
	sort.Strings(bad)
	return slices.Compact(bad)
}

// checkImport checks one import of package from, in layer, by code or, if
// test is set, by its tests.
func checkImport(from, layer, imp string, test bool) []string {
	by := from
	if test {
		by = "a test of " + from
	}
	if imp == "google.golang.org/grpc" || strings.HasPrefix(imp, "google.golang.org/grpc/") {
		return []string{fmt.Sprintf("%s imports %s; only the comparison module bench/grpcgo may import grpc-go", by, imp)}
	}
	to, ok := rel(imp)
	if !ok {
		return nil
	}
	toLayer := layerOf(to)
	var bad []string
	if slices.Contains(testHelpers, to) && !test && !slices.Contains(testHelpers, from) {
		bad = append(bad, fmt.Sprintf("%s imports %s, which only tests may import", by, to))
	}
	if toLayer == "internal" && slices.Contains(public, layer) {
		bad = append(bad, fmt.Sprintf("%s imports %s; examples use only what users can import", by, to))
	}
	if slices.Contains(leaves, layer) && from != layer && to == layer {
		bad = append(bad, fmt.Sprintf("%s imports %s; %s's subpackages must not import it", by, to, layer))
	}
	switch {
	case toLayer == layer, toLayer == "internal":
	case test && slices.Contains(testHelpers, to):
	case !slices.Contains(layers[layer], toLayer):
		may := "no other layer"
		if l := layers[layer]; len(l) > 0 {
			may = "only " + strings.Join(l, ", ")
		}
		bad = append(bad, fmt.Sprintf("%s imports %s: layer %s may import %s (besides the shared internal packages)", by, to, layer, may))
	}
	return bad
}

// goList runs the go command with args and decodes the JSON values it
// prints into a slice of T.
func goList[T any](t *testing.T, args ...string) []T {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the packages: %v", err)
	}
	cmd := exec.Command(gobin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var vs []T
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var v T
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			return vs
		} else if err != nil {
			t.Fatalf("go %s: %v", strings.Join(args, " "), err)
		}
		vs = append(vs, v)
	}
}

// TestLayers checks the whole module, tests included.
func TestLayers(t *testing.T) {
	pkgs := goList[goPackage](t, "list", "-deps", "-test", "-json", modulePath+"/...")
	type goMod struct {
		Module  struct{ Path string }
		Require []struct{ Path string }
	}
	mods := goList[goMod](t, "mod", "edit", "-json")
	if len(mods) != 1 || mods[0].Module.Path != modulePath {
		t.Fatalf("go mod edit -json: %+v, want the go.mod of %s", mods, modulePath)
	}
	var requires []string
	for _, r := range mods[0].Require {
		requires = append(requires, r.Path)
	}
	seen := map[string]bool{}
	for _, p := range pkgs {
		if r, ok := rel(p.ImportPath); ok && !p.DepOnly && p.ForTest == "" {
			seen[layerOf(r)] = true
		}
	}
	// A sanity check of the listing itself: these layers exist today.
	for _, l := range []string{"frame", "hpack", "stream", "codec", "channel", "stub", "gossip", "internal", "internal/testpb", "cmd"} {
		if !seen[l] {
			t.Errorf("go list shows no package of layer %s", l)
		}
	}
	for _, b := range check(pkgs, requires) {
		t.Error(b)
	}
}

// TestCheckCatches feeds check packages that break each rule once.
func TestCheckCatches(t *testing.T) {
	m := func(rel string) string { return modulePath + "/" + rel }
	mod := func(path string) *struct{ Path string } { return &struct{ Path string }{path} }
	pkgs := []goPackage{
		// Allowed: every rule kept.
		{ImportPath: m("frame"), Module: mod(modulePath), Imports: []string{"io", m("internal/bufpool")}, TestImports: []string{m("internal/leakcheck")}},
		{ImportPath: m("stream"), Module: mod(modulePath), Imports: []string{m("frame"), m("hpack")}, TestImports: []string{m("frame/frametest")}},
		{ImportPath: m("channel/credentials/insecure"), Module: mod(modulePath), Imports: []string{m("channel/credentials")}},
		{ImportPath: m("stub"), Module: mod(modulePath), Imports: []string{m("channel"), m("codec")}, XTestImports: []string{m("stub"), m("internal/testpb"), m("internal/testcert")}},
		{ImportPath: m("internal/testpb"), Module: mod(modulePath), Imports: []string{m("stub"), m("channel/codes")}},
		{ImportPath: m("gossip/sim"), Module: mod(modulePath), Imports: []string{m("gossip")}},
		{ImportPath: m("gossip/resolver"), Module: mod(modulePath), Imports: []string{m("gossip"), m("channel")}},
		{ImportPath: m("cmd/h2rpc"), Module: mod(modulePath), Imports: []string{m("gossip/agent"), m("interop"), m("stub")}},
		{ImportPath: "golang.org/x/net/http2", Module: mod("golang.org/x/net"), DepOnly: true},
		{ImportPath: "net/http", Standard: true, DepOnly: true},
		// Each of these breaks one rule.
		{ImportPath: m("hpack"), Module: mod(modulePath), Imports: []string{m("stream")}},
		{ImportPath: m("stream"), Module: mod(modulePath), TestImports: []string{m("channel")}},
		{ImportPath: m("channel/metadata"), Module: mod(modulePath), Imports: []string{m("channel")}},
		{ImportPath: m("gossip"), Module: mod(modulePath), Imports: []string{m("channel/resolver")}},
		{ImportPath: m("channel"), Module: mod(modulePath), Imports: []string{m("gossip")}},
		{ImportPath: m("codec"), Module: mod(modulePath), Imports: []string{m("frame")}},
		{ImportPath: m("channel"), Module: mod(modulePath), Imports: []string{m("internal/leakcheck")}},
		{ImportPath: m("examples/helloworld"), Module: mod(modulePath), Imports: []string{m("internal/bufpool")}},
		{ImportPath: m("internal/headers"), Module: mod(modulePath), Imports: []string{m("channel/metadata")}},
		{ImportPath: m("interop"), Module: mod(modulePath), XTestImports: []string{"google.golang.org/grpc/credentials"}},
		{ImportPath: m("otherdir"), Module: mod(modulePath)},
		{ImportPath: "github.com/some/dep", Module: mod("github.com/some/dep"), DepOnly: true},
	}
	got := check(pkgs, []string{"golang.org/x/net", "google.golang.org/protobuf", "github.com/some/dep"})
	want := []string{
		"a test of interop imports google.golang.org/grpc/credentials; only the comparison module bench/grpcgo may import grpc-go",
		"a test of stream imports channel: layer stream may import only frame, hpack (besides the shared internal packages)",
		"channel imports gossip: layer channel may import only frame, hpack, stream, codec (besides the shared internal packages)",
		"channel imports internal/leakcheck, which only tests may import",
		"channel/metadata imports channel; channel's subpackages must not import it",
		"codec imports frame: layer codec may import no other layer (besides the shared internal packages)",
		"examples/helloworld imports internal/bufpool; examples use only what users can import",
		"github.com/some/dep is built from module github.com/some/dep; the module may depend only on golang.org/x/net, golang.org/x/text, google.golang.org/protobuf",
		"github.com/h2rpc/h2rpc/otherdir is in no layer; add its directory to the table in internal/layers",
		"go.mod requires github.com/some/dep; the module may depend only on golang.org/x/net, golang.org/x/text, google.golang.org/protobuf",
		"gossip imports channel/resolver: layer gossip may import no other layer (besides the shared internal packages)",
		"hpack imports stream: layer hpack may import only frame (besides the shared internal packages)",
		"internal/headers imports channel/metadata: layer internal may import no other layer (besides the shared internal packages)",
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("check found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
