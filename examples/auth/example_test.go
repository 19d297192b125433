package auth_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"testing"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/credentials/oauth"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/examples/auth"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/stub"
)

// serve starts the example's server with creds and returns its address
// and a function that stops it.
func serve(creds credentials.TransportCredentials) (string, func()) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := auth.NewServer(creds)
	go s.Serve(lis)
	return lis.Addr().String(), s.Stop
}

// client returns a Greeter client over TLS to addr, presenting the
// client certificate when mtls is set, with opts.
func client(addr string, mtls bool, opts ...stub.DialOption) (pb.GreeterClient, func()) {
	cfg := &tls.Config{RootCAs: auth.CAPool()}
	if mtls {
		cfg.Certificates = []tls.Certificate{auth.ClientCertificate()}
	}
	conn, err := stub.NewClient(addr, append(opts, stub.WithTransportCredentials(credentials.NewTLS(cfg)))...)
	if err != nil {
		log.Fatal(err)
	}
	return pb.NewGreeterClient(conn), func() { conn.Close() }
}

// Calls with a token sent by per-RPC credentials, over TLS, and with the
// client certificate of mTLS.
func Example() {
	addr, stop := serve(auth.ServerCredentials(true))
	defer stop()
	ctx := context.Background()

	bob := stub.WithPerRPCCredentials(oauth.NewOauthAccess(&oauth.Token{AccessToken: auth.BobToken}))
	c, done := client(addr, false, bob)
	defer done()
	r, err := c.SayHello(ctx, &pb.HelloRequest{Name: "Bob"})
	fmt.Println(r.GetMessage(), err)
	s, err := c.SayHelloStream(ctx, &pb.HelloRequest{Name: "Bob"})
	if err == nil {
		_, err = s.Recv()
	}
	fmt.Println(status.Code(err))

	anonymous, done2 := client(addr, false)
	defer done2()
	_, err = anonymous.SayHello(ctx, &pb.HelloRequest{Name: "nobody"})
	fmt.Println(status.Code(err))

	withCert, done3 := client(addr, true)
	defer done3()
	r, err = withCert.SayHello(ctx, &pb.HelloRequest{Name: "mTLS"})
	fmt.Println(r.GetMessage(), err)
	// Output:
	// Hello Bob, you are [user:bob] <nil>
	// PermissionDenied
	// Unauthenticated
	// Hello mTLS, you are [cert:h2rpc auth example test client] <nil>
}

// TestTokensAndIdentities checks each outcome of the policy over TLS and
// mTLS, and that a plaintext client never sends a token.
func TestTokensAndIdentities(t *testing.T) {
	for _, mtls := range []bool{false, true} {
		addr, stop := serve(auth.ServerCredentials(mtls))
		c, done := client(addr, mtls)
		tok := func(s string) stub.CallOption {
			return stub.PerRPCCredentials(oauth.TokenSource{TokenProvider: oauth.ReuseTokenSource(nil, oauth.TokenProviderFunc(func() (*oauth.Token, error) {
				return &oauth.Token{AccessToken: s}, nil
			}))})
		}
		cert, anonymous, anonymousMsg := "", codes.Unauthenticated, ""
		if mtls {
			cert = " cert:" + auth.ClientCommonName
			anonymous, anonymousMsg = codes.OK, "Hello x, you are [cert:"+auth.ClientCommonName+"]"
		}
		for _, call := range []struct {
			opts []stub.CallOption
			code codes.Code
			msg  string
		}{
			{nil, anonymous, anonymousMsg},
			{[]stub.CallOption{tok("wrong")}, codes.Unauthenticated, ""},
			{[]stub.CallOption{tok(auth.AliceToken)}, codes.OK, "Hello x, you are [user:alice" + cert + "]"},
		} {
			r, err := c.SayHello(context.Background(), &pb.HelloRequest{Name: "x"}, call.opts...)
			if status.Code(err) != call.code || r.GetMessage() != call.msg {
				t.Errorf("mtls=%v %v: %q, %v; want %q, %v", mtls, call.opts, r.GetMessage(), err, call.msg, call.code)
			}
		}
		done()
		stop()
	}

	// A plaintext client with credentials that need TLS: refused at once,
	// or, as a call option, before the call leaves.
	_, err := stub.NewClient("127.0.0.1:1", stub.WithTransportCredentials(insecure.NewCredentials()),
		stub.WithPerRPCCredentials(oauth.NewOauthAccess(&oauth.Token{AccessToken: auth.AliceToken})))
	if err == nil {
		t.Fatal("NewClient accepted a token on a plaintext client")
	}
	addr, stop := serve(insecure.NewCredentials())
	defer stop()
	conn, err := stub.NewClient(addr, stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = pb.NewGreeterClient(conn).SayHello(context.Background(), &pb.HelloRequest{Name: "x"},
		stub.PerRPCCredentials(oauth.NewOauthAccess(&oauth.Token{AccessToken: auth.AliceToken})))
	if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "transport: cannot send secure credentials on an insecure connection" {
		t.Fatalf("plaintext call with a token: %v", err)
	}
}
