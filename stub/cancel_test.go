package stub_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/faultsvc"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stub"
)

// TestCancelBeforeCloseSend: a streaming call cancelled before CloseSend
// ends CANCELLED, never with the answer a server gives a whole request
// (grpc-go's interop case cancel_after_begin, which this once failed now
// and then: the cancel's callback and CloseSend raced, and the request's
// end could reach the server first).
func TestCancelBeforeCloseSend(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	addr, _ := faultServer(t, "s", log)
	cc := faultClient(t, `{}`, []string{addr})
	for i := range 300 {
		ctx, cancel := context.WithCancel(ctxT(t))
		ctx = metadata.AppendToOutgoingContext(ctx, "fault-id", fmt.Sprint("c", i), "fault-script", "OK")
		s, err := cc.NewStream(ctx, &stub.StreamDesc{ClientStreams: true, ServerStreams: true}, faultsvc.StreamMethod)
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		s.CloseSend()
		if err := s.RecvMsg(new(wrapperspb.StringValue)); status.Code(err) != codes.Canceled {
			t.Fatalf("call %d: RecvMsg after cancel and CloseSend: %v, want CANCELLED", i, err)
		}
	}
}
