package stub

import "context"

// The chain functions fold a list of interceptors into one, built once when
// the server or connection is made. The first interceptor is the outermost.

func chainUnaryServer(is []UnaryServerInterceptor) UnaryServerInterceptor {
	switch len(is) {
	case 0:
		return nil
	case 1:
		return is[0]
	}
	return func(ctx context.Context, req any, info *UnaryServerInfo, h UnaryHandler) (any, error) {
		return is[0](ctx, req, info, nextUnaryHandler(is, 1, info, h))
	}
}

func nextUnaryHandler(is []UnaryServerInterceptor, i int, info *UnaryServerInfo, h UnaryHandler) UnaryHandler {
	if i == len(is) {
		return h
	}
	return func(ctx context.Context, req any) (any, error) {
		return is[i](ctx, req, info, nextUnaryHandler(is, i+1, info, h))
	}
}

func chainStreamServer(is []StreamServerInterceptor) StreamServerInterceptor {
	switch len(is) {
	case 0:
		return nil
	case 1:
		return is[0]
	}
	return func(srv any, ss ServerStream, info *StreamServerInfo, h StreamHandler) error {
		return is[0](srv, ss, info, nextStreamHandler(is, 1, info, h))
	}
}

func nextStreamHandler(is []StreamServerInterceptor, i int, info *StreamServerInfo, h StreamHandler) StreamHandler {
	if i == len(is) {
		return h
	}
	return func(srv any, ss ServerStream) error {
		return is[i](srv, ss, info, nextStreamHandler(is, i+1, info, h))
	}
}

func chainUnaryClient(is []UnaryClientInterceptor) UnaryClientInterceptor {
	switch len(is) {
	case 0:
		return nil
	case 1:
		return is[0]
	}
	return func(ctx context.Context, method string, req, reply any, cc *ClientConn, inv UnaryInvoker, opts ...CallOption) error {
		return is[0](ctx, method, req, reply, cc, nextInvoker(is, 1, inv), opts...)
	}
}

func nextInvoker(is []UnaryClientInterceptor, i int, inv UnaryInvoker) UnaryInvoker {
	if i == len(is) {
		return inv
	}
	return func(ctx context.Context, method string, req, reply any, cc *ClientConn, opts ...CallOption) error {
		return is[i](ctx, method, req, reply, cc, nextInvoker(is, i+1, inv), opts...)
	}
}

func chainStreamClient(is []StreamClientInterceptor) StreamClientInterceptor {
	switch len(is) {
	case 0:
		return nil
	case 1:
		return is[0]
	}
	return func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, st Streamer, opts ...CallOption) (ClientStream, error) {
		return is[0](ctx, desc, cc, method, nextStreamer(is, 1, st), opts...)
	}
}

func nextStreamer(is []StreamClientInterceptor, i int, st Streamer) Streamer {
	if i == len(is) {
		return st
	}
	return func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (ClientStream, error) {
		return is[i](ctx, desc, cc, method, nextStreamer(is, i+1, st), opts...)
	}
}
