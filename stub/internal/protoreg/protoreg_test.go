//lint:file-ignore SA1019 grpc.reflection.v1alpha is deprecated upstream, and is still served for the clients that use it.

package protoreg_test

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
	"github.com/h2rpc/h2rpc/stub/internal/protoreg"
	reflectionpb "github.com/h2rpc/h2rpc/stub/reflection/grpc_reflection_v1"
	reflectionalphapb "github.com/h2rpc/h2rpc/stub/reflection/grpc_reflection_v1alpha"
)

// TestLocalRegistration checks that the generated code of h2rpc's own
// protocols registers in protoreg and nowhere in the global registries,
// where grpc-go's generated code registers the same names.
func TestLocalRegistration(t *testing.T) {
	files := []struct {
		fd      protoreflect.FileDescriptor
		path    string
		pkg     protoreflect.FullName
		service protoreflect.FullName
		msg     proto.Message
	}{
		{healthpb.File_stub_health_grpc_health_v1_health_proto, "stub/health/grpc_health_v1/health.proto",
			"grpc.health.v1", "grpc.health.v1.Health", &healthpb.HealthCheckRequest{}},
		{reflectionpb.File_stub_reflection_grpc_reflection_v1_reflection_proto, "stub/reflection/grpc_reflection_v1/reflection.proto",
			"grpc.reflection.v1", "grpc.reflection.v1.ServerReflection", &reflectionpb.ServerReflectionRequest{}},
		{reflectionalphapb.File_stub_reflection_grpc_reflection_v1alpha_reflection_proto, "stub/reflection/grpc_reflection_v1alpha/reflection.proto",
			"grpc.reflection.v1alpha", "grpc.reflection.v1alpha.ServerReflection", &reflectionalphapb.ServerReflectionRequest{}},
	}
	for _, f := range files {
		if f.fd.Path() != f.path || f.fd.Package() != f.pkg {
			t.Errorf("file %s (package %s), want %s (package %s)", f.fd.Path(), f.fd.Package(), f.path, f.pkg)
		}
		got, err := protoreg.Files.FindFileByPath(f.path)
		if err != nil || got != f.fd {
			t.Errorf("protoreg.Files.FindFileByPath(%q) = %v, %v; want the generated descriptor", f.path, got, err)
		}
		if d, err := protoreg.Files.FindDescriptorByName(f.service); err != nil || d.ParentFile() != f.fd {
			t.Errorf("protoreg.Files.FindDescriptorByName(%q) = %v, %v", f.service, d, err)
		}
		name := f.msg.ProtoReflect().Descriptor().FullName()
		if mt, err := protoreg.Types.FindMessageByName(name); err != nil || mt.New().Interface().ProtoReflect().Descriptor() != f.msg.ProtoReflect().Descriptor() {
			t.Errorf("protoreg.Types.FindMessageByName(%q) = %v, %v", name, mt, err)
		}
		if _, err := protoregistry.GlobalFiles.FindFileByPath(f.path); err != protoregistry.NotFound {
			t.Errorf("GlobalFiles holds %s (err %v); it must stay out of the global registry", f.path, err)
		}
		if _, err := protoregistry.GlobalFiles.FindDescriptorByName(f.service); err != protoregistry.NotFound {
			t.Errorf("GlobalFiles holds %s (err %v)", f.service, err)
		}
		if _, err := protoregistry.GlobalTypes.FindMessageByName(name); err != protoregistry.NotFound {
			t.Errorf("GlobalTypes holds %s (err %v)", name, err)
		}
	}
}

// TestLocalTypesMarshal checks that messages registered only locally still
// marshal and unmarshal.
func TestLocalTypesMarshal(t *testing.T) {
	in := &healthpb.HealthListResponse{Statuses: map[string]*healthpb.HealthCheckResponse{
		"a": {Status: healthpb.HealthCheckResponse_NOT_SERVING},
	}}
	b, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := new(healthpb.HealthListResponse)
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, out) {
		t.Fatalf("round trip gave %v, want %v", out, in)
	}
}
