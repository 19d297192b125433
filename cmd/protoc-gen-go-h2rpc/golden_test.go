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

var update = flag.Bool("update", false, "rewrite the descriptor sets in testdata and the golden generated files from the compilers' output")

const (
	// repoRoot is the repository root seen from this package; the test
	// protos' names are relative to it, as `make generate` compiles them.
	repoRoot  = "../.."
	testProto = "internal/testpb/test.proto"
	descSet   = "testdata/test.binpb"
	// The editions protos, compiled by buf as `make generate` does, and
	// their descriptor set.
	editionsDir = "internal/testpb/editionspb"
	editionsSet = "testdata/editions.binpb"
)

// editionsProtos are the protos in editionsDir, by edition.
var editionsProtos = []string{editionsDir + "/editions2023.proto", editionsDir + "/editions2024.proto"}

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
	return compileDescriptors(t, cmd, out)
}

// bufDescriptors compiles the editions protos with the buf that `make buf`
// installs, imports and source info included. It skips the test when that
// buf is not installed.
func bufDescriptors(t *testing.T) []byte {
	t.Helper()
	buf := filepath.Join(repoRoot, ".tools", "bin", "buf")
	if _, err := os.Stat(buf); err != nil {
		t.Skip("buf not installed (make buf installs it)")
	}
	out := filepath.Join(t.TempDir(), "set.binpb")
	cmd := exec.Command(buf, "build", repoRoot, "--path", filepath.Join(repoRoot, editionsDir),
		"--as-file-descriptor-set", "-o", out)
	return compileDescriptors(t, cmd, out)
}

// compileDescriptors runs cmd, which writes a descriptor set to out, and
// returns the set.
func compileDescriptors(t *testing.T, cmd *exec.Cmd, out string) []byte {
	t.Helper()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(cmd.Path), err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readSet reads a checked-in descriptor set.
func readSet(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// respond runs the generator in process on the descriptor set b for the
// protos named, as a compiler would with the given parameter.
func respond(t *testing.T, b []byte, protos []string, param string) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: protos,
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
	return resp
}

// run is respond for the test proto, and returns the generated files by name.
func run(t *testing.T, b []byte, param string) map[string]string {
	t.Helper()
	return generated(respond(t, b, []string{testProto}, param))
}

// generated returns the files of resp by name.
func generated(resp *pluginpb.CodeGeneratorResponse) map[string]string {
	files := map[string]string{}
	for _, f := range resp.File {
		files[f.GetName()] = f.GetContent()
	}
	return files
}

// goldenName is the checked-in generated file of a proto, relative to the
// repository root.
func goldenName(protoName string) string {
	return strings.TrimSuffix(protoName, ".proto") + "_h2rpc.pb.go"
}

// compareGolden checks that files are exactly the golden files of protos.
func compareGolden(t *testing.T, files map[string]string, protos ...string) {
	t.Helper()
	if len(files) != len(protos) {
		t.Errorf("generated %d files, want %d", len(files), len(protos))
	}
	for _, p := range protos {
		name := goldenName(p)
		got, ok := files[name]
		if !ok {
			t.Errorf("%s not generated", name)
			continue
		}
		want, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("generated %s differs from the checked-in file; run make generate (and go test -update here if the descriptor set is stale)\n%s",
				name, firstDiff(string(want), got))
		}
	}
}

// updateGolden writes the descriptor set b and the files generated from it
// when the test runs with -update.
func updateGolden(t *testing.T, set string, b []byte, files map[string]string) {
	t.Helper()
	if !*update {
		return
	}
	if err := os.WriteFile(set, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for name, c := range files {
		if err := os.WriteFile(filepath.Join(repoRoot, name), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
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
	updateGolden(t, descSet, b, files)
	compareGolden(t, files, testProto)
}

// TestGoldenDescriptorSet generates from the checked-in descriptor set, so
// the golden comparison runs where protoc is not installed.
func TestGoldenDescriptorSet(t *testing.T) {
	compareGolden(t, run(t, readSet(t, descSet), "paths=source_relative"), testProto)
}

// TestGoldenEditionsBuf generates from buf's descriptors of the editions
// protos.
func TestGoldenEditionsBuf(t *testing.T) {
	b := bufDescriptors(t)
	files := generated(respond(t, b, editionsProtos, "paths=source_relative"))
	updateGolden(t, editionsSet, b, files)
	compareGolden(t, files, editionsProtos...)
}

// TestGoldenEditionsDescriptorSet generates the editions protos from the
// checked-in descriptor set, which must hold them in their editions.
func TestGoldenEditionsDescriptorSet(t *testing.T) {
	b := readSet(t, editionsSet)
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	want := map[string]descriptorpb.Edition{
		editionsProtos[0]: descriptorpb.Edition_EDITION_2023,
		editionsProtos[1]: descriptorpb.Edition_EDITION_2024,
		testProto:         descriptorpb.Edition_EDITION_UNKNOWN,
	}
	for _, f := range set.File {
		e, ok := want[f.GetName()]
		if !ok {
			continue
		}
		delete(want, f.GetName())
		if e == descriptorpb.Edition_EDITION_UNKNOWN {
			if f.GetSyntax() != "proto3" {
				t.Errorf("%s: syntax %q, want proto3", f.GetName(), f.GetSyntax())
			}
			continue
		}
		if f.GetSyntax() != "editions" || f.GetEdition() != e {
			t.Errorf("%s: syntax %q, edition %v; want editions, %v", f.GetName(), f.GetSyntax(), f.GetEdition(), e)
		}
	}
	for name := range want {
		t.Errorf("%s missing from %s", name, editionsSet)
	}
	compareGolden(t, generated(respond(t, b, editionsProtos, "paths=source_relative")), editionsProtos...)
}

// TestSupportedFeatures checks what the generator tells the compiler: proto3
// optional fields, editions, and the editions from proto2 to 2024.
func TestSupportedFeatures(t *testing.T) {
	resp := respond(t, readSet(t, descSet), []string{testProto}, "paths=source_relative")
	const want = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL | pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	if resp.SupportedFeatures == nil || resp.GetSupportedFeatures() != want {
		t.Errorf("supported_features %d (set: %t), want %d", resp.GetSupportedFeatures(), resp.SupportedFeatures != nil, want)
	}
	if resp.MinimumEdition == nil || descriptorpb.Edition(resp.GetMinimumEdition()) != descriptorpb.Edition_EDITION_PROTO2 {
		t.Errorf("minimum_edition %v (set: %t), want EDITION_PROTO2", descriptorpb.Edition(resp.GetMinimumEdition()), resp.MinimumEdition != nil)
	}
	if resp.MaximumEdition == nil || descriptorpb.Edition(resp.GetMaximumEdition()) != descriptorpb.Edition_EDITION_2024 {
		t.Errorf("maximum_edition %v (set: %t), want EDITION_2024", descriptorpb.Edition(resp.GetMaximumEdition()), resp.MaximumEdition != nil)
	}
}

// TestEditionsShape checks what the editions protos' services became: every
// call kind, messages of a proto3 file in another Go package, deprecation.
func TestEditionsShape(t *testing.T) {
	files := generated(respond(t, readSet(t, editionsSet), editionsProtos, "paths=source_relative"))
	c := files[goldenName(editionsProtos[0])] + files[goldenName(editionsProtos[1])]
	for _, want := range []string{
		`testpb "github.com/h2rpc/h2rpc/internal/testpb"`,
		"Get(ctx context.Context, in *Note, opts ...stub.CallOption) (*Note, error)",
		"List(ctx context.Context, in *testpb.Request, opts ...stub.CallOption) (stub.ServerStreamingClient[Note], error)",
		"Collect(ctx context.Context, opts ...stub.CallOption) (stub.ClientStreamingClient[Note, testpb.Response], error)",
		"Chat(ctx context.Context, opts ...stub.CallOption) (stub.BidiStreamingClient[Note, Note], error)",
		"\t// Forget is kept for older clients.\n\t//\n\t// Deprecated: Do not use.\n\tForget(",
		`ServiceName: "h2rpc.gentest.editions.Notes",`,
		`Metadata: "internal/testpb/editionspb/editions2023.proto",`,
		"Put(ctx context.Context, in *Mark, opts ...stub.CallOption) (*Note, error)",
		"Watch(*Mark, stub.ServerStreamingServer[Mark]) error",
		`Marks_Watch_FullMethodName = "/h2rpc.gentest.editions.Marks/Watch"`,
	} {
		if !strings.Contains(c, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
}

func TestRequireUnimplementedServersOff(t *testing.T) {
	b := readSet(t, descSet)
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
	b := readSet(t, descSet)
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
	b := readSet(t, descSet)
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
