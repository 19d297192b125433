package grpcgo

import (
	"context"
	"net"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/stub"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// H2RPCServiceDesc describes the service to h2rpc.
var H2RPCServiceDesc = stub.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*BenchServer)(nil),
	Methods: []stub.MethodDesc{{
		MethodName: "Unary",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor stub.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.BytesValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return srv.(BenchServer).Unary(ctx, in)
			}
			info := &stub.UnaryServerInfo{Server: srv, FullMethod: UnaryMethod}
			handler := func(ctx context.Context, req any) (any, error) {
				return srv.(BenchServer).Unary(ctx, req.(*wrapperspb.BytesValue))
			}
			return interceptor(ctx, in, info, handler)
		},
	}},
	Streams: []stub.StreamDesc{{
		StreamName:    "PingPong",
		Handler:       func(srv any, s stub.ServerStream) error { return srv.(BenchServer).PingPong(s) },
		ServerStreams: true,
		ClientStreams: true,
	}, {
		StreamName:    "Stream",
		Handler:       func(srv any, s stub.ServerStream) error { return streamHandler(srv, s) },
		ServerStreams: true,
	}},
	Metadata: "bench.proto",
}

// StartH2RPC serves the benchmark service with h2rpc on ln, with default
// options, and connects an h2rpc client to it over h2c.
func StartH2RPC(ln net.Listener) (Client, func(), error) { return StartH2RPCWithConfig(ln, "") }

// StartH2RPCWithConfig is StartH2RPC with a default service config for
// the client ("" for none).
func StartH2RPCWithConfig(ln net.Listener, serviceConfig string) (Client, func(), error) {
	s := stub.NewServer(h2rpcServerOptions()...)
	s.RegisterService(&H2RPCServiceDesc, Echo{})
	stop := serve(s, ln)
	opts := []stub.DialOption{stub.WithTransportCredentials(insecure.NewCredentials())}
	if serviceConfig != "" {
		opts = append(opts, stub.WithDefaultServiceConfig(serviceConfig))
	}
	cc, err := stub.NewClient(ln.Addr().String(), opts...)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return h2rpcClient{cc}, func() { cc.Close(); stop() }, nil
}

type h2rpcClient struct{ cc *stub.ClientConn }

func (c h2rpcClient) Unary(ctx context.Context, in *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error) {
	out := new(wrapperspb.BytesValue)
	if err := c.cc.Invoke(ctx, UnaryMethod, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c h2rpcClient) PingPong(ctx context.Context) (ClientStream, error) {
	return c.cc.NewStream(ctx, &H2RPCServiceDesc.Streams[0], PingPongMethod)
}

func (c h2rpcClient) NewStream(ctx context.Context) (ClientStream, error) {
	return c.cc.NewStream(ctx, &H2RPCServiceDesc.Streams[1], StreamMethod)
}
