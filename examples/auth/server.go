package auth

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/examples/auth/authz"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/health"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
	"github.com/h2rpc/h2rpc/stub/reflection"
)

// The example's bearer tokens.
const (
	AliceToken = "alice-secret-token"
	BobToken   = "bob-secret-token"
)

// Policy is the example's: alice and bob have tokens; everyone
// authenticated may call SayHello, only alice SayHelloStream. The client
// certificate may call SayHello.
func Policy() *authz.Policy {
	return &authz.Policy{
		Tokens: map[string]string{AliceToken: "alice", BobToken: "bob"},
		Allow: map[string][]authz.Principal{
			pb.Greeter_SayHello_FullMethodName:       {"user:alice", "user:bob", "cert:" + ClientCommonName},
			pb.Greeter_SayHelloStream_FullMethodName: {"user:alice"},
		},
	}
}

// ServerCredentials returns TLS credentials with the example's server
// certificate; with mtls, they also verify a client certificate when one
// is presented (calls without one need a token).
func ServerCredentials(mtls bool) credentials.TransportCredentials {
	cfg := &tls.Config{Certificates: []tls.Certificate{ServerCertificate()}}
	if mtls {
		cfg.ClientCAs = CAPool()
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return credentials.NewTLS(cfg)
}

// NewServer returns a server of the Greeter service behind Policy's
// interceptors, secured by creds; health and reflection are registered too
// and, as they are not in the policy, need a token like anything else.
func NewServer(creds credentials.TransportCredentials) *stub.Server {
	p := Policy()
	s := stub.NewServer(stub.Creds(creds), stub.UnaryInterceptor(p.UnaryInterceptor()), stub.StreamInterceptor(p.StreamInterceptor()))
	pb.RegisterGreeterServer(s, greeter{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	return s
}

// greeter greets its caller by name and identity.
type greeter struct {
	pb.UnimplementedGreeterServer
}

func (greeter) SayHello(ctx context.Context, in *pb.HelloRequest) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: fmt.Sprintf("Hello %s, you are %v", in.GetName(), authz.Identity(ctx))}, nil
}

func (greeter) SayHelloStream(in *pb.HelloRequest, s pb.Greeter_SayHelloStreamServer) error {
	for _, part := range []string{"Hello", in.GetName(), fmt.Sprint(authz.Identity(s.Context()))} {
		if err := s.Send(&pb.HelloReply{Message: part}); err != nil {
			return err
		}
	}
	return nil
}
