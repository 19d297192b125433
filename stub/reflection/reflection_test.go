//lint:file-ignore SA1019 grpc.reflection.v1alpha is deprecated upstream, and is still served for the clients that use it.

package reflection_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/internal/testpb/editionspb"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/health"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
	"github.com/h2rpc/h2rpc/stub/reflection"
	v1pb "github.com/h2rpc/h2rpc/stub/reflection/grpc_reflection_v1"
	v1alphapb "github.com/h2rpc/h2rpc/stub/reflection/grpc_reflection_v1alpha"
)

type marks struct {
	editionspb.UnimplementedMarksServer
}
type echo struct{ pb.UnimplementedEchoServer }

// serve starts a server with register's services and returns a client
// connection to it.
func serve(t *testing.T, register func(*stub.Server)) *stub.ClientConn {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := stub.NewServer()
	register(s)
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(lis) }()
	cc, err := stub.NewClient(lis.Addr().String(), stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close(); s.Stop(); <-done })
	return cc
}

func standard(s *stub.Server) {
	pb.RegisterEchoServer(s, &echo{})
	editionspb.RegisterMarksServer(s, &marks{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
}

func stream(t *testing.T, cc *stub.ClientConn) stub.BidiStreamingClient[v1pb.ServerReflectionRequest, v1pb.ServerReflectionResponse] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	st, err := v1pb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func ask(t *testing.T, st stub.BidiStreamingClient[v1pb.ServerReflectionRequest, v1pb.ServerReflectionResponse], req *v1pb.ServerReflectionRequest) *v1pb.ServerReflectionResponse {
	t.Helper()
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
	res, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(res.GetOriginalRequest(), req) {
		t.Fatalf("original_request %v, want %v", res.GetOriginalRequest(), req)
	}
	return res
}

// fileNames returns the names of the files of a file_descriptor_response.
func fileNames(t *testing.T, res *v1pb.ServerReflectionResponse) []string {
	t.Helper()
	fr := res.GetFileDescriptorResponse()
	if fr == nil {
		t.Fatalf("no file_descriptor_response: %v", res)
	}
	var names []string
	for _, b := range fr.GetFileDescriptorProto() {
		fdp := new(descriptorpb.FileDescriptorProto)
		if err := proto.Unmarshal(b, fdp); err != nil {
			t.Fatal(err)
		}
		names = append(names, fdp.GetName())
	}
	return names
}

func symbol(s string) *v1pb.ServerReflectionRequest {
	return &v1pb.ServerReflectionRequest{MessageRequest: &v1pb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: s}}
}

func filename(s string) *v1pb.ServerReflectionRequest {
	return &v1pb.ServerReflectionRequest{MessageRequest: &v1pb.ServerReflectionRequest_FileByFilename{FileByFilename: s}}
}

func TestListServices(t *testing.T) {
	leakcheck.Check(t)
	st := stream(t, serve(t, standard))
	res := ask(t, st, &v1pb.ServerReflectionRequest{Host: "h", MessageRequest: &v1pb.ServerReflectionRequest_ListServices{}})
	var got []string
	for _, s := range res.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	want := []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection", "h2rpc.gentest.Echo", "h2rpc.gentest.editions.Marks"}
	if !slices.Equal(got, want) || res.GetValidHost() != "h" {
		t.Fatalf("list_services = %v (host %q), want %v", got, res.GetValidHost(), want)
	}
}

// TestTransitiveDependencies asks for a file three imports deep: the answer
// has it first, then its imports, and each file goes once per stream.
func TestTransitiveDependencies(t *testing.T) {
	leakcheck.Check(t)
	st := stream(t, serve(t, standard))
	chain := []string{"internal/testpb/editionspb/editions2024.proto", "internal/testpb/editionspb/editions2023.proto", "internal/testpb/test.proto", "google/protobuf/empty.proto"}
	if got := fileNames(t, ask(t, st, symbol("h2rpc.gentest.editions.Marks"))); !slices.Equal(got, chain) {
		t.Fatalf("file of Marks: %v, want %v", got, chain)
	}
	// Already sent on this stream: only the file asked for.
	if got := fileNames(t, ask(t, st, filename("internal/testpb/test.proto"))); !slices.Equal(got, chain[2:3]) {
		t.Fatalf("test.proto again: %v, want %v", got, chain[2:3])
	}
	// A new stream starts afresh.
	st2 := stream(t, serve(t, standard))
	if got := fileNames(t, ask(t, st2, filename("internal/testpb/test.proto"))); !slices.Equal(got, chain[2:]) {
		t.Fatalf("test.proto on a new stream: %v, want %v", got, chain[2:])
	}
}

func TestSymbols(t *testing.T) {
	leakcheck.Check(t)
	st := stream(t, serve(t, standard))
	for sym, file := range map[string]string{
		"h2rpc.gentest.Echo":                       "internal/testpb/test.proto",
		"h2rpc.gentest.Echo.Unary":                 "internal/testpb/test.proto",
		"h2rpc.gentest.Request":                    "internal/testpb/test.proto",
		"h2rpc.gentest.editions.Mark":              "internal/testpb/editionspb/editions2024.proto",
		"grpc.health.v1.HealthCheckResponse":       "stub/health/grpc_health_v1/health.proto",
		"grpc.health.v1.Health.Watch":              "stub/health/grpc_health_v1/health.proto",
		"grpc.reflection.v1alpha.ServerReflection": "stub/reflection/grpc_reflection_v1alpha/reflection.proto",
	} {
		if got := fileNames(t, ask(t, st, symbol(sym))); len(got) == 0 || got[0] != file {
			t.Errorf("file of %s: %v, want %s first", sym, got, file)
		}
	}
}

// TestNotFoundKeepsStream checks that unknown files, symbols and
// extensions are answered with NOT_FOUND and that the stream still
// answers afterwards.
func TestNotFoundKeepsStream(t *testing.T) {
	leakcheck.Check(t)
	st := stream(t, serve(t, standard))
	for _, req := range []*v1pb.ServerReflectionRequest{
		filename("no/such.proto"),
		symbol("no.such.Symbol"),
		symbol(""),
		{MessageRequest: &v1pb.ServerReflectionRequest_FileContainingExtension{FileContainingExtension: &v1pb.ExtensionRequest{ContainingType: "h2rpc.gentest.Request", ExtensionNumber: 100}}},
		{MessageRequest: &v1pb.ServerReflectionRequest_AllExtensionNumbersOfType{AllExtensionNumbersOfType: "no.such.Message"}},
		{MessageRequest: &v1pb.ServerReflectionRequest_AllExtensionNumbersOfType{AllExtensionNumbersOfType: "h2rpc.gentest.Echo"}},
	} {
		res := ask(t, st, req)
		if e := res.GetErrorResponse(); e == nil || codes.Code(e.GetErrorCode()) != codes.NotFound || e.GetErrorMessage() == "" {
			t.Errorf("%v: %v, want an error_response with NOT_FOUND", req, res)
		}
	}
	if got := fileNames(t, ask(t, st, symbol("h2rpc.gentest.Echo"))); len(got) == 0 {
		t.Fatal("no answer after the errors")
	}
}

// TestInvalidRequestEndsStream checks that a request with no question ends
// the stream with INVALID_ARGUMENT, as grpc-go's does.
func TestInvalidRequestEndsStream(t *testing.T) {
	leakcheck.Check(t)
	st := stream(t, serve(t, standard))
	if err := st.Send(&v1pb.ServerReflectionRequest{Host: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Recv: %v, want InvalidArgument", err)
	}
}

func TestV1alpha(t *testing.T) {
	leakcheck.Check(t)
	cc := serve(t, standard)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := v1alphapb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := &v1alphapb.ServerReflectionRequest{MessageRequest: &v1alphapb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "h2rpc.gentest.Echo"}}
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
	res, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.GetFileDescriptorResponse().GetFileDescriptorProto()); n != 2 || !proto.Equal(res.GetOriginalRequest(), req) {
		t.Fatalf("v1alpha answer %v", res)
	}
	req = &v1alphapb.ServerReflectionRequest{MessageRequest: &v1alphapb.ServerReflectionRequest_FileByFilename{FileByFilename: "nope"}}
	if err := st.Send(req); err != nil {
		t.Fatal(err)
	}
	if res, err = st.Recv(); err != nil || codes.Code(res.GetErrorResponse().GetErrorCode()) != codes.NotFound {
		t.Fatalf("v1alpha unknown file: %v, %v", res, err)
	}
}

// dynamicFile builds, at run time, a file with a service, a message and
// two extensions of it.
func dynamicFile(t *testing.T) protoreflect.FileDescriptor {
	t.Helper()
	fdp := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("dyn/dyn.proto"),
		Package: proto.String("dyn"),
		Syntax:  proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name:           proto.String("Thing"),
			Field:          []*descriptorpb.FieldDescriptorProto{{Name: proto.String("id"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_INT32.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()}},
			ExtensionRange: []*descriptorpb.DescriptorProto_ExtensionRange{{Start: proto.Int32(100), End: proto.Int32(200)}},
		}},
		Extension: []*descriptorpb.FieldDescriptorProto{
			{Name: proto.String("b"), Number: proto.Int32(150), Extendee: proto.String(".dyn.Thing"), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()},
			{Name: proto.String("a"), Number: proto.Int32(101), Extendee: proto.String(".dyn.Thing"), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name:   proto.String("Things"),
			Method: []*descriptorpb.MethodDescriptorProto{{Name: proto.String("Get"), InputType: proto.String(".dyn.Thing"), OutputType: proto.String(".dyn.Thing")}},
		}},
	}
	fd, err := protodesc.NewFile(fdp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// TestDynamicService serves a service described at run time, its file
// given as the ServiceDesc's Metadata, and its extensions through
// ServerOptions.
func TestDynamicService(t *testing.T) {
	leakcheck.Check(t)
	fd := dynamicFile(t)
	types := new(protoregistry.Types)
	for i := range fd.Extensions().Len() {
		if err := types.RegisterExtension(dynamicpb.NewExtensionType(fd.Extensions().Get(i))); err != nil {
			t.Fatal(err)
		}
	}
	cc := serve(t, func(s *stub.Server) {
		s.RegisterService(&stub.ServiceDesc{ServiceName: "dyn.Things", HandlerType: (*any)(nil), Metadata: fd}, struct{}{})
		opts := reflection.ServerOptions{Services: s, ExtensionResolver: types}
		v1pb.RegisterServerReflectionServer(s, reflection.NewServerV1(opts))
	})
	st := stream(t, cc)
	if got := fileNames(t, ask(t, st, symbol("dyn.Things.Get"))); !slices.Equal(got, []string{"dyn/dyn.proto"}) {
		t.Fatalf("file of dyn.Things.Get: %v", got)
	}
	res := ask(t, st, &v1pb.ServerReflectionRequest{MessageRequest: &v1pb.ServerReflectionRequest_AllExtensionNumbersOfType{AllExtensionNumbersOfType: "dyn.Thing"}})
	if n := res.GetAllExtensionNumbersResponse(); n.GetBaseTypeName() != "dyn.Thing" || !slices.Equal(n.GetExtensionNumber(), []int32{101, 150}) {
		t.Fatalf("extension numbers of dyn.Thing: %v", res)
	}
	res = ask(t, st, &v1pb.ServerReflectionRequest{MessageRequest: &v1pb.ServerReflectionRequest_FileContainingExtension{FileContainingExtension: &v1pb.ExtensionRequest{ContainingType: "dyn.Thing", ExtensionNumber: 150}}})
	if got := fileNames(t, res); !slices.Equal(got, []string{"dyn/dyn.proto"}) {
		t.Fatalf("file of extension 150: %v", got)
	}
}
