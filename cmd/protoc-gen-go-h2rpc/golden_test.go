package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

var update = flag.Bool("update", false, "rewrite testdata/test.binpb and the golden generated file from protoc's output")

const (
	// repoRoot is the repository root seen from this package; the test
	// proto's name is relative to it, as `make generate` compiles it.
	repoRoot   = "../.."
	testProto  = "internal/testpb/test.proto"
	goldenFile = "../../internal/testpb/test_h2rpc.pb.go"
	descSet    = "testdata/test.binpb"
)

// protocDescriptors compiles the test proto with protoc, source info
// (comments) included. It skips the test when protoc is not installed.
func protocDescriptors(t *testing.T) []byte {
	t.Helper()
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Skip("protoc not installed")
	}
	out := filepath.Join(t.TempDir(), "set.binpb")
	cmd := exec.Command("protoc", "-I", repoRoot, "--include_imports", "--include_source_info",
		"--descriptor_set_out="+out, filepath.Join(repoRoot, testProto))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run runs the generator in process on the descriptor set b, as protoc
// would with the given parameter, and returns the generated files by name.
func run(t *testing.T, b []byte, param string) map[string]string {
	t.Helper()
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{testProto},
		Parameter:      proto.String(param),
		ProtoFile:      set.File,
	}
	cfg := config{requireUnimplemented: true}
	var flags flag.FlagSet
	flags.BoolVar(&cfg.requireUnimplemented, "require_unimplemented_servers", true, "")
	gen, err := protogen.Options{ParamFunc: flags.Set}.New(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := generate(gen, cfg); err != nil {
		t.Fatal(err)
	}
	resp := gen.Response()
	if resp.Error != nil {
		t.Fatalf("generator error: %s", resp.GetError())
	}
	files := map[string]string{}
	for _, f := range resp.File {
		files[f.GetName()] = f.GetContent()
	}
	return files
}

func compareGolden(t *testing.T, files map[string]string) {
	t.Helper()
	name := strings.TrimSuffix(testProto, ".proto") + "_h2rpc.pb.go"
	got, ok := files[name]
	if !ok || len(files) != 1 {
		t.Fatalf("generated %d files, want only %s", len(files), name)
	}
	want, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("generated %s differs from %s; run make generate (and go test -update here if the descriptor set is stale)\n%s",
			name, goldenFile, firstDiff(string(want), got))
	}
}

// firstDiff shows the first line where want and got differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + strconv.Itoa(i+1) + ":\n want: " + a + "\n  got: " + b
		}
	}
	return ""
}

// TestGoldenProtoc generates from protoc's descriptors of the test proto.
func TestGoldenProtoc(t *testing.T) {
	b := protocDescriptors(t)
	files := run(t, b, "paths=source_relative")
	if *update {
		if err := os.WriteFile(descSet, b, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range files {
			if err := os.WriteFile(goldenFile, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	compareGolden(t, files)
}

// TestGoldenDescriptorSet generates from the checked-in descriptor set, so
// the golden comparison runs where protoc is not installed.
func TestGoldenDescriptorSet(t *testing.T) {
	b, err := os.ReadFile(descSet)
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, run(t, b, "paths=source_relative"))
}

func TestRequireUnimplementedServersOff(t *testing.T) {
	b, err := os.ReadFile(descSet)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range run(t, b, "paths=source_relative,require_unimplemented_servers=false") {
		iface := c[strings.Index(c, "type EchoServer interface {"):]
		iface = iface[:strings.Index(iface, "\n}\n")]
		if strings.Contains(iface, "mustEmbed") {
			t.Errorf("EchoServer still requires the embedded UnimplementedEchoServer:\n%s", iface)
		}
		if !strings.Contains(c, "func (UnimplementedEchoServer) mustEmbedUnimplementedEchoServer() {}") {
			t.Error("UnimplementedEchoServer lost mustEmbedUnimplementedEchoServer")
		}
	}
}

func TestGeneratedShape(t *testing.T) {
	b, err := os.ReadFile(descSet)
	if err != nil {
		t.Fatal(err)
	}
	var c string
	for _, s := range run(t, b, "paths=source_relative") {
		c = s
	}
	for _, want := range []string{
		"const _ = stub.SupportPackageIsVersion1",
		`Echo_Unary_FullMethodName         = "/h2rpc.gentest.Echo/Unary"`,
		`Echo_SnakeCaseName_FullMethodName = "/h2rpc.gentest.Echo/snake_case_name"`,
		"Bidi(ctx context.Context, opts ...stub.CallOption) (stub.BidiStreamingClient[Request, Response], error)",
		"ClientStream(stub.ClientStreamingServer[Request, Response]) error",
		"ServerStream(*Request, stub.ServerStreamingServer[Response]) error",
		"Old(ctx context.Context, in *emptypb.Empty, opts ...stub.CallOption) (*emptypb.Empty, error)",
		"\t// Old is kept for older clients.\n\t//\n\t// Deprecated: Do not use.\n\tOld(",
		"// Retired is a whole service kept for older clients.\n//\n// Deprecated: Do not use.\ntype RetiredClient interface",
		"// Deprecated: Do not use.\nfunc RegisterRetiredServer(",
		"&Echo_ServiceDesc.Streams[2], Echo_Bidi_FullMethodName",
		"&Echo_ServiceDesc.Streams[3], Echo_SnakeCaseName_FullMethodName",
		`return nil, status.Error(codes.Unimplemented, "method Unary not implemented")`,
		"type Echo_BidiServer = stub.BidiStreamingServer[Request, Response]",
		`Metadata: "internal/testpb/test.proto",`,
		"type NothingClient interface {\n}",
	} {
		if !strings.Contains(c, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
}

func TestNoServicesNoFile(t *testing.T) {
	b, err := os.ReadFile(descSet)
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{"google/protobuf/empty.proto"},
		ProtoFile:      set.File,
	}
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := generate(gen, config{requireUnimplemented: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(gen.Response().File); n != 0 {
		t.Fatalf("generated %d files for a file without services", n)
	}
}
