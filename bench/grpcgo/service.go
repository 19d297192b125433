package grpcgo

import (
	"context"
	"encoding/binary"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// ServiceName is the full name of the benchmark service.
const ServiceName = "h2rpc.bench.Bench"

// Full method names, as generated code spells them.
const (
	UnaryMethod    = "/" + ServiceName + "/Unary"
	PingPongMethod = "/" + ServiceName + "/PingPong"
	StreamMethod   = "/" + ServiceName + "/Stream"
)

// MsgStream is what the server handlers need of a stream; grpc-go's and
// h2rpc's server streams both have it.
type MsgStream interface {
	SendMsg(m any) error
	RecvMsg(m any) error
}

// BenchServer is the benchmark service:
//
//	service Bench {
//	  rpc Unary(google.protobuf.BytesValue) returns (google.protobuf.BytesValue);
//	  rpc PingPong(stream google.protobuf.BytesValue) returns (stream google.protobuf.BytesValue);
//	  rpc Stream(google.protobuf.BytesValue) returns (stream google.protobuf.BytesValue);
//	}
type BenchServer interface {
	// Unary answers with the request.
	Unary(context.Context, *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error)
	// PingPong answers each message with the same message.
	PingPong(MsgStream) error
	// Stream sends the messages a StreamRequest asks for.
	Stream(*wrapperspb.BytesValue, MsgStream) error
}

// Echo implements BenchServer.
type Echo struct{}

func (Echo) Unary(_ context.Context, in *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error) {
	return in, nil
}

func (Echo) PingPong(s MsgStream) error {
	for {
		m := new(wrapperspb.BytesValue)
		if err := s.RecvMsg(m); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		if err := s.SendMsg(m); err != nil {
			return err
		}
	}
}

func (Echo) Stream(in *wrapperspb.BytesValue, s MsgStream) error {
	n, size, err := ParseStreamRequest(in)
	if err != nil {
		return err
	}
	out := &wrapperspb.BytesValue{Value: make([]byte, size)}
	for i := range out.Value {
		out.Value[i] = byte(i)
	}
	for range n {
		if err := s.SendMsg(out); err != nil {
			return err
		}
	}
	return nil
}

// StreamRequest asks Stream for n messages of size bytes each.
func StreamRequest(n uint64, size uint32) *wrapperspb.BytesValue {
	v := binary.BigEndian.AppendUint64(nil, n)
	return &wrapperspb.BytesValue{Value: binary.BigEndian.AppendUint32(v, size)}
}

// ParseStreamRequest is the inverse of StreamRequest.
func ParseStreamRequest(in *wrapperspb.BytesValue) (n uint64, size uint32, err error) {
	if len(in.Value) != 12 {
		return 0, 0, errors.New("bench: stream request is not 12 bytes")
	}
	return binary.BigEndian.Uint64(in.Value), binary.BigEndian.Uint32(in.Value[8:]), nil
}

// streamHandler decodes the request of a server-streaming call, as generated
// handlers do, and runs Stream.
func streamHandler(srv any, s MsgStream) error {
	in := new(wrapperspb.BytesValue)
	if err := s.RecvMsg(in); err != nil {
		return err
	}
	return srv.(BenchServer).Stream(in, s)
}

// GRPCServiceDesc describes the service to grpc-go.
var GRPCServiceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*BenchServer)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Unary",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.BytesValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			if interceptor == nil {
				return srv.(BenchServer).Unary(ctx, in)
			}
			info := &grpc.UnaryServerInfo{Server: srv, FullMethod: UnaryMethod}
			handler := func(ctx context.Context, req any) (any, error) {
				return srv.(BenchServer).Unary(ctx, req.(*wrapperspb.BytesValue))
			}
			return interceptor(ctx, in, info, handler)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "PingPong",
		Handler:       func(srv any, s grpc.ServerStream) error { return srv.(BenchServer).PingPong(s) },
		ServerStreams: true,
		ClientStreams: true,
	}, {
		StreamName:    "Stream",
		Handler:       func(srv any, s grpc.ServerStream) error { return streamHandler(srv, s) },
		ServerStreams: true,
	}},
	Metadata: "bench.proto",
}
