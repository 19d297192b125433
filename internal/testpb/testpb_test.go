package testpb

import (
	"context"
	"testing"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stub"
)

// registrar records registrations, standing in for a server.
type registrar struct {
	desc *stub.ServiceDesc
	impl any
}

func (r *registrar) RegisterService(desc *stub.ServiceDesc, impl any) { r.desc, r.impl = desc, impl }

type echo struct{ UnimplementedEchoServer }

type echoByPointer struct{ *UnimplementedEchoServer }

func TestRegisterAndDescriptor(t *testing.T) {
	var r registrar
	RegisterEchoServer(&r, echo{})
	if r.desc != &Echo_ServiceDesc {
		t.Fatal("RegisterEchoServer registered another descriptor")
	}
	d := Echo_ServiceDesc
	if d.ServiceName != "h2rpc.gentest.Echo" || len(d.Methods) != 2 || len(d.Streams) != 4 {
		t.Fatalf("descriptor: %s, %d methods, %d streams", d.ServiceName, len(d.Methods), len(d.Streams))
	}
	kinds := map[string][2]bool{}
	for _, s := range d.Streams {
		kinds[s.StreamName] = [2]bool{s.ClientStreams, s.ServerStreams}
	}
	want := map[string][2]bool{
		"ServerStream": {false, true}, "ClientStream": {true, false},
		"Bidi": {true, true}, "snake_case_name": {false, true},
	}
	for n, k := range want {
		if kinds[n] != k {
			t.Errorf("%s: client/server streams %v, want %v", n, kinds[n], k)
		}
	}
}

func TestRegisterNilEmbeddedPointerPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering a nil embedded *UnimplementedEchoServer did not panic")
		}
	}()
	var r registrar
	RegisterEchoServer(&r, echoByPointer{})
}

func TestUnimplemented(t *testing.T) {
	var s EchoServer = echo{}
	_, err := s.Unary(context.Background(), &Request{})
	if st, _ := status.FromError(err); st.Code() != codes.Unimplemented || st.Message() != "method Unary not implemented" {
		t.Fatalf("Unary: %v", err)
	}
	if err := s.Bidi(nil); status.Code(err) != codes.Unimplemented {
		t.Fatalf("Bidi: %v", err)
	}
}
