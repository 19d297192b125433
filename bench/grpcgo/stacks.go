package grpcgo

import (
	"context"
	"net"

	"google.golang.org/grpc"
	grpcinsecure "google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ClientStream is what the benchmarks need of a client stream; grpc-go's
// and h2rpc's both have it.
type ClientStream interface {
	SendMsg(m any) error
	RecvMsg(m any) error
	CloseSend() error
}

// Client is a client of the benchmark service on one connection, shaped
// as generated clients are: each call allocates its reply.
type Client interface {
	Unary(ctx context.Context, in *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error)
	PingPong(ctx context.Context) (ClientStream, error)
	// NewStream opens a Stream call; Stream sends its request.
	NewStream(ctx context.Context) (ClientStream, error)
}

// Stream starts a Stream call on c with request in.
func Stream(ctx context.Context, c Client, in *wrapperspb.BytesValue) (ClientStream, error) {
	s, err := c.NewStream(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(in); err != nil {
		return nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	return s, nil
}

// Stack is one RPC implementation: Start serves the benchmark service on ln
// and connects one client to it; stop closes both.
type Stack struct {
	Name  string
	Start func(ln net.Listener) (c Client, stop func(), err error)
}

// Stacks are the implementations compared, h2rpc first.
var Stacks = []Stack{
	{"h2rpc", StartH2RPC},
	{"grpc-go", StartGRPC},
}

// server is what grpc-go's and h2rpc's servers have in common.
type server interface {
	Serve(net.Listener) error
	Stop()
}

// serve runs s on ln until the returned function stops it.
func serve(s server, ln net.Listener) (stop func()) {
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.Serve(ln)
	}()
	return func() {
		s.Stop()
		<-served
	}
}

// StartGRPC serves the benchmark service with grpc-go on ln, with default
// options, and connects a grpc-go client to it over h2c.
func StartGRPC(ln net.Listener) (Client, func(), error) { return StartGRPCWithConfig(ln, "") }

// StartGRPCWithConfig is StartGRPC with a default service config for the
// client ("" for none).
func StartGRPCWithConfig(ln net.Listener, serviceConfig string) (Client, func(), error) {
	s := grpc.NewServer()
	s.RegisterService(&GRPCServiceDesc, Echo{})
	stop := serve(s, ln)
	opts := []grpc.DialOption{grpc.WithTransportCredentials(grpcinsecure.NewCredentials())}
	if serviceConfig != "" {
		opts = append(opts, grpc.WithDefaultServiceConfig(serviceConfig))
	}
	cc, err := grpc.NewClient(ln.Addr().String(), opts...)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return grpcClient{cc}, func() { cc.Close(); stop() }, nil
}

type grpcClient struct{ cc *grpc.ClientConn }

func (c grpcClient) Unary(ctx context.Context, in *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error) {
	out := new(wrapperspb.BytesValue)
	if err := c.cc.Invoke(ctx, UnaryMethod, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c grpcClient) PingPong(ctx context.Context) (ClientStream, error) {
	return c.cc.NewStream(ctx, &GRPCServiceDesc.Streams[0], PingPongMethod)
}

func (c grpcClient) NewStream(ctx context.Context) (ClientStream, error) {
	return c.cc.NewStream(ctx, &GRPCServiceDesc.Streams[1], StreamMethod)
}
