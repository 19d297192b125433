package grpcgo

import (
	"os"
	"os/exec"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	grpchealthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcreflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	grpcreflectionalphapb "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
	reflectionpb "github.com/h2rpc/h2rpc/stub/reflection/grpc_reflection_v1"
	reflectionalphapb "github.com/h2rpc/h2rpc/stub/reflection/grpc_reflection_v1alpha"
)

// conflictEnv is protobuf-go's switch for what a second registration of a
// name does: panic (its default), warn or ignore.
const conflictEnv = "GOLANG_PROTOBUF_REGISTRATION_CONFLICT"

// TestLinkedWithGRPCGo runs this test binary again, which links grpc-go's
// generated health and reflection code and h2rpc's, with protobuf-go set to
// panic on any registration conflict, and checks that it starts and that
// nothing was reported.
func TestLinkedWithGRPCGo(t *testing.T) {
	if os.Getenv(conflictEnv) == "panic" {
		return // the child: starting was the test
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLinkedWithGRPCGo$", "-test.count=1")
	cmd.Env = append(os.Environ(), conflictEnv+"=panic")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("a program linking both grpc-go's and h2rpc's health and reflection code failed to start: %v\n%s", err, out)
	}
	if string(out) != "PASS\n" {
		t.Fatalf("the program printed more than PASS:\n%s", out)
	}
}

// TestSameProtocols checks that h2rpc's health and reflection files declare
// what grpc-go's declare (package, messages, fields with their numbers,
// types and names, enums, services and methods), differing only in file
// name and options, and that grpc-go's are in the global registry while
// ours are not.
func TestSameProtocols(t *testing.T) {
	pairs := []struct{ ours, theirs protoreflect.FileDescriptor }{
		{healthpb.File_stub_health_grpc_health_v1_health_proto, grpchealthpb.File_grpc_health_v1_health_proto},
		{reflectionpb.File_stub_reflection_grpc_reflection_v1_reflection_proto, grpcreflectionpb.File_grpc_reflection_v1_reflection_proto},
		{reflectionalphapb.File_stub_reflection_grpc_reflection_v1alpha_reflection_proto, grpcreflectionalphapb.File_grpc_reflection_v1alpha_reflection_proto},
	}
	for _, p := range pairs {
		if _, err := protoregistry.GlobalFiles.FindFileByPath(p.theirs.Path()); err != nil {
			t.Errorf("grpc-go's %s is not registered globally: %v", p.theirs.Path(), err)
		}
		if _, err := protoregistry.GlobalFiles.FindFileByPath(p.ours.Path()); err == nil {
			t.Errorf("h2rpc's %s is registered globally", p.ours.Path())
		}
		ours, theirs := declarations(p.ours), declarations(p.theirs)
		if !proto.Equal(ours, theirs) {
			t.Errorf("%s declares other things than grpc-go's %s:\nours:   %v\ntheirs: %v", p.ours.Path(), p.theirs.Path(), ours, theirs)
		}
	}
}

// declarations returns fd as a FileDescriptorProto without its name,
// options, comments and source positions.
func declarations(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
	p := protodesc.ToFileDescriptorProto(fd)
	p.Name, p.Options, p.SourceCodeInfo = nil, nil, nil
	return p
}

// TestSameWireFormat checks that a message marshalled by grpc-go's types
// reads back the same through h2rpc's, for each kind of field they use.
func TestSameWireFormat(t *testing.T) {
	theirs := &grpchealthpb.HealthListResponse{Statuses: map[string]*grpchealthpb.HealthCheckResponse{
		"": {Status: grpchealthpb.HealthCheckResponse_SERVING}, "x": {Status: grpchealthpb.HealthCheckResponse_SERVICE_UNKNOWN},
	}}
	b, err := proto.Marshal(theirs)
	if err != nil {
		t.Fatal(err)
	}
	ours := new(healthpb.HealthListResponse)
	if err := proto.Unmarshal(b, ours); err != nil {
		t.Fatal(err)
	}
	if len(ours.Statuses) != 2 || ours.Statuses[""].GetStatus() != healthpb.HealthCheckResponse_SERVING ||
		ours.Statuses["x"].GetStatus() != healthpb.HealthCheckResponse_SERVICE_UNKNOWN {
		t.Fatalf("h2rpc read %v from grpc-go's %v", ours, theirs)
	}

	req := &grpcreflectionpb.ServerReflectionRequest{Host: "h", MessageRequest: &grpcreflectionpb.ServerReflectionRequest_FileContainingExtension{
		FileContainingExtension: &grpcreflectionpb.ExtensionRequest{ContainingType: "a.B", ExtensionNumber: 7},
	}}
	if b, err = proto.Marshal(req); err != nil {
		t.Fatal(err)
	}
	got := new(reflectionpb.ServerReflectionRequest)
	if err := proto.Unmarshal(b, got); err != nil {
		t.Fatal(err)
	}
	if got.GetHost() != "h" || got.GetFileContainingExtension().GetContainingType() != "a.B" || got.GetFileContainingExtension().GetExtensionNumber() != 7 {
		t.Fatalf("h2rpc read %v from grpc-go's %v", got, req)
	}
}
