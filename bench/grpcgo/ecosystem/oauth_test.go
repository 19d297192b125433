package ecosystem

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpccreds "google.golang.org/grpc/credentials"
	grpcoauth "google.golang.org/grpc/credentials/oauth"
	"google.golang.org/grpc/status"

	"github.com/h2rpc/h2rpc/examples/auth"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
)

// TestGRPCGoOAuthClient calls the auth example's h2rpc server from grpc-go
// with grpc-go's oauth per-RPC credentials, over TLS and with a client
// certificate (mTLS). The Greeter's messages are h2rpc's generated types,
// which grpc-go's Invoke marshals as any proto message.
func TestGRPCGoOAuthClient(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := auth.NewServer(auth.ServerCredentials(true))
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(lis) }()
	defer func() { s.Stop(); <-done }()

	call := func(mtls bool, method string, opts ...grpc.DialOption) (string, error) {
		cfg := &tls.Config{RootCAs: auth.CAPool(), ServerName: "localhost"}
		if mtls {
			cfg.Certificates = []tls.Certificate{auth.ClientCertificate()}
		}
		conn, err := grpc.NewClient(lis.Addr().String(), append(opts, grpc.WithTransportCredentials(grpccreds.NewTLS(cfg)))...)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out := new(pb.HelloReply)
		if method == pb.Greeter_SayHello_FullMethodName {
			err = conn.Invoke(ctx, method, &pb.HelloRequest{Name: "grpc-go"}, out)
			return out.GetMessage(), err
		}
		st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
		if err == nil {
			if err = st.SendMsg(&pb.HelloRequest{Name: "grpc-go"}); err == nil {
				st.CloseSend()
				err = st.RecvMsg(out)
			}
		}
		return out.GetMessage(), err
	}
	alice := grpc.WithPerRPCCredentials(grpcoauth.TokenSource{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: auth.AliceToken})})
	bob := grpc.WithPerRPCCredentials(grpcoauth.TokenSource{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: auth.BobToken})})
	wrong := grpc.WithPerRPCCredentials(grpcoauth.TokenSource{TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "guess"})})
	for _, c := range []struct {
		name   string
		mtls   bool
		method string
		opts   []grpc.DialOption
		code   codes.Code
		msg    string
	}{
		{"alice", false, pb.Greeter_SayHello_FullMethodName, []grpc.DialOption{alice}, codes.OK, "Hello grpc-go, you are [user:alice]"},
		{"alice stream", false, pb.Greeter_SayHelloStream_FullMethodName, []grpc.DialOption{alice}, codes.OK, "Hello"},
		{"bob", false, pb.Greeter_SayHello_FullMethodName, []grpc.DialOption{bob}, codes.OK, "Hello grpc-go, you are [user:bob]"},
		{"bob stream", false, pb.Greeter_SayHelloStream_FullMethodName, []grpc.DialOption{bob}, codes.PermissionDenied, ""},
		{"wrong token", false, pb.Greeter_SayHello_FullMethodName, []grpc.DialOption{wrong}, codes.Unauthenticated, ""},
		{"no token", false, pb.Greeter_SayHello_FullMethodName, nil, codes.Unauthenticated, ""},
		{"certificate", true, pb.Greeter_SayHello_FullMethodName, nil, codes.OK, "Hello grpc-go, you are [cert:" + auth.ClientCommonName + "]"},
		{"alice and certificate", true, pb.Greeter_SayHello_FullMethodName, []grpc.DialOption{alice}, codes.OK, "Hello grpc-go, you are [user:alice cert:" + auth.ClientCommonName + "]"},
	} {
		msg, err := call(c.mtls, c.method, c.opts...)
		if status.Code(err) != c.code || msg != c.msg {
			t.Errorf("%s: %q, %v; want %q, %v", c.name, msg, err, c.msg, c.code)
		}
	}
}
