package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/credentials/oauth"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/examples/auth"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/stub"
)

var (
	addr = flag.String("addr", "localhost:50052", "the server's address")
	mtls = flag.Bool("mtls", false, "present the example's client certificate (mTLS)")
)

func main() {
	flag.Parse()
	cfg := &tls.Config{RootCAs: auth.CAPool()}
	if *mtls {
		cfg.Certificates = []tls.Certificate{auth.ClientCertificate()}
	}
	conn, err := stub.NewClient(*addr, stub.WithTransportCredentials(credentials.NewTLS(cfg)))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewGreeterClient(conn)
	token := func(t string) stub.CallOption {
		return stub.PerRPCCredentials(oauth.NewOauthAccess(&oauth.Token{AccessToken: t}))
	}
	anonymous := codes.Unauthenticated
	if *mtls {
		anonymous = codes.OK // the certificate is enough for SayHello
	}
	failed := false
	check := func(who string, want codes.Code, got error, msg string) {
		mark := "ok"
		if status.Code(got) != want {
			mark, failed = "UNEXPECTED", true
		}
		if got != nil {
			msg = got.Error()
		}
		fmt.Printf("%-10s %-20s want %-16v %s: %s\n", mark, who, want, status.Code(got), msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, call := range []struct {
		who  string
		opts []stub.CallOption
		want codes.Code
	}{
		{"no token", nil, anonymous},
		{"wrong token", []stub.CallOption{token("guess")}, codes.Unauthenticated},
		{"bob", []stub.CallOption{token(auth.BobToken)}, codes.OK},
		{"alice", []stub.CallOption{token(auth.AliceToken)}, codes.OK},
	} {
		r, err := c.SayHello(ctx, &pb.HelloRequest{Name: call.who}, call.opts...)
		check("SayHello "+call.who, call.want, err, r.GetMessage())
	}
	for _, call := range []struct {
		who   string
		token string
		want  codes.Code
	}{
		{"bob", auth.BobToken, codes.PermissionDenied},
		{"alice", auth.AliceToken, codes.OK},
	} {
		msg, err := stream(ctx, c, call.who, token(call.token))
		check("stream "+call.who, call.want, err, msg)
	}
	if failed {
		os.Exit(1)
	}
}

// stream calls SayHelloStream and joins the replies.
func stream(ctx context.Context, c pb.GreeterClient, name string, opt stub.CallOption) (string, error) {
	s, err := c.SayHelloStream(ctx, &pb.HelloRequest{Name: name}, opt)
	if err != nil {
		return "", err
	}
	out := ""
	for {
		r, err := s.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return "", err
		}
		out += r.GetMessage() + " "
	}
}
