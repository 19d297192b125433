package stub_test

import (
	"io"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

// TestRequestCardinality: unary and server-streaming methods take exactly
// one request message; zero or several end the call with UNIMPLEMENTED
// (gRPC's statuscodes.md), and exactly one still works.
func TestRequestCardinality(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	// A client that may send any number of messages, whatever the method.
	desc := &stub.StreamDesc{ClientStreams: true, ServerStreams: true}
	for _, method := range []string{"/h2rpc.gentest.Echo/Unary", "/h2rpc.gentest.Echo/ServerStream"} {
		for _, n := range []int{0, 1, 2, 3} {
			cs, err := e.cc.NewStream(ctxT(t), desc, method)
			if err != nil {
				t.Fatal(err)
			}
			one := int32(1)
			for i := range n {
				err := cs.SendMsg(&pb.Request{Payload: "p", Count: &one})
				if err == io.EOF && i >= 2 {
					break // the server has already ended the call
				}
				if err != nil {
					t.Fatalf("%s: send %d: %v", method, i, err)
				}
			}
			cs.CloseSend()
			var got int
			var err2 error
			for {
				if err2 = cs.RecvMsg(new(pb.Response)); err2 != nil {
					break
				}
				got++
			}
			want := codes.Unimplemented
			if n == 1 {
				want = codes.OK
			}
			wantN := 0
			if n == 1 {
				wantN = 1
			}
			if got != wantN {
				t.Errorf("%s with %d requests: %d responses, want %d", method, n, got, wantN)
			}
			if code := status.Code(err2); code != want && !(want == codes.OK && err2 == io.EOF) {
				t.Errorf("%s with %d requests: %v, want %v", method, n, err2, want)
			}
		}
	}
}

// TestRecoverHandlerPanics: with RecoverHandlerPanics a panicking handler
// ends its call with INTERNAL, and the server goes on serving.
func TestRecoverHandlerPanics(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{sopts: []stub.ServerOption{stub.RecoverHandlerPanics()}})
	_, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "panic"})
	if status.Code(err) != codes.Internal || !strings.Contains(status.Convert(err).Message(), "on purpose") {
		t.Fatalf("panicking call: %v, want INTERNAL with the panic's value", err)
	}
	if r, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "after"}); err != nil || r.GetPayload() != "after" {
		t.Fatalf("next call: %v, %v", r, err)
	}
}
