package stub

import "context"

// UnaryServerInfo describes a unary call to a server interceptor.
type UnaryServerInfo struct {
	// Server is the service implementation.
	Server any
	// FullMethod is "/package.Service/Method".
	FullMethod string
}

// UnaryHandler calls the method implementation (or the next interceptor).
type UnaryHandler func(ctx context.Context, req any) (any, error)

// UnaryServerInterceptor wraps unary calls on the server. It calls handler to
// go on with the call, and may change the request, the reply or the error.
type UnaryServerInterceptor func(ctx context.Context, req any, info *UnaryServerInfo, handler UnaryHandler) (resp any, err error)

// StreamServerInfo describes a streaming call to a server interceptor.
type StreamServerInfo struct {
	// FullMethod is "/package.Service/Method".
	FullMethod     string
	IsClientStream bool
	IsServerStream bool
}

// StreamServerInterceptor wraps streaming calls on the server. It calls
// handler to go on with the call, possibly with a wrapped stream.
type StreamServerInterceptor func(srv any, ss ServerStream, info *StreamServerInfo, handler StreamHandler) error

// UnaryInvoker performs a unary call (or calls the next interceptor).
type UnaryInvoker func(ctx context.Context, method string, req, reply any, cc *ClientConn, opts ...CallOption) error

// UnaryClientInterceptor wraps unary calls on the client. It calls invoker to
// make the call.
type UnaryClientInterceptor func(ctx context.Context, method string, req, reply any, cc *ClientConn, invoker UnaryInvoker, opts ...CallOption) error

// Streamer opens a client stream (or calls the next interceptor).
type Streamer func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (ClientStream, error)

// StreamClientInterceptor wraps the opening of client streams. It calls
// streamer to open the stream, and may wrap the stream it returns.
type StreamClientInterceptor func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, streamer Streamer, opts ...CallOption) (ClientStream, error)
