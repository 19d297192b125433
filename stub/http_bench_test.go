package stub_test

import (
	"testing"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

// BenchmarkUnaryWebEnabled is BenchmarkUnary on a server that also serves
// a fallback handler and gRPC-Web: plain gRPC calls cost the same.
func BenchmarkUnaryWebEnabled(b *testing.B) {
	e := newEnv(b, envConfig{sopts: []stub.ServerOption{stub.WithHTTPHandler(fallbackMux()), stub.WithGRPCWeb(stub.WebOptions{})}})
	benchUnary(b, e.client)
}

// BenchmarkUnaryServeHTTP is BenchmarkUnary through Server.ServeHTTP
// mounted in net/http with h2c: what mounting costs compared with Serve.
func BenchmarkUnaryServeHTTP(b *testing.B) {
	s := stub.NewServer()
	pb.RegisterEchoServer(s, &echo{})
	cc, err := stub.NewClient(mountH2C(b, s), stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	benchUnary(b, pb.NewEchoClient(cc))
}

func benchUnary(b *testing.B, c pb.EchoClient) {
	ctx := ctxT(b)
	req := &pb.Request{Payload: "x"}
	if _, err := c.Unary(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Unary(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
