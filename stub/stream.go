package stub

import (
	"context"

	"github.com/h2rpc/h2rpc/channel/metadata"
)

// ClientConnInterface is what generated clients call through; *ClientConn
// implements it, and so can test doubles and wrappers.
type ClientConnInterface interface {
	// Invoke performs a unary call and fills reply.
	Invoke(ctx context.Context, method string, args, reply any, opts ...CallOption) error
	// NewStream starts a streaming call.
	NewStream(ctx context.Context, desc *StreamDesc, method string, opts ...CallOption) (ClientStream, error)
}

// ServerStream is the server side of a streaming call, as handlers and
// stream interceptors see it.
//
// SendMsg may be called from one goroutine and RecvMsg from another at the
// same time, but neither from two goroutines at once.
type ServerStream interface {
	// SetHeader adds md to the response headers, which are sent with the
	// first message, by SendHeader, or at the end of the call. It fails
	// once they are sent.
	SetHeader(metadata.MD) error
	// SendHeader sends the response headers with md added. It fails when
	// they were already sent.
	SendHeader(metadata.MD) error
	// SetTrailer adds md to the trailers sent at the end of the call.
	SetTrailer(metadata.MD)
	// Context is the call's context: its deadline, incoming metadata and
	// peer. It is cancelled when the call ends.
	Context() context.Context
	// SendMsg sends m. An error means the call has ended; the handler
	// should return.
	SendMsg(m any) error
	// RecvMsg receives the next message into m. It returns io.EOF when the
	// client has finished sending.
	RecvMsg(m any) error
}

// ClientStream is the client side of a streaming call.
//
// The call's resources are released when its context is cancelled or when
// RecvMsg returns an error (io.EOF on success); a caller that stops early
// must cancel the context. SendMsg and CloseSend may be called from one
// goroutine and RecvMsg from another at the same time.
type ClientStream interface {
	// Header waits for the response headers and returns them.
	Header() (metadata.MD, error)
	// Trailer returns the trailers; they are complete once RecvMsg has
	// returned an error.
	Trailer() metadata.MD
	// CloseSend tells the server that the client sends no more messages.
	CloseSend() error
	// Context is the call's context.
	Context() context.Context
	// SendMsg sends m. When it returns io.EOF the server has ended the
	// call; RecvMsg then returns the call's status.
	SendMsg(m any) error
	// RecvMsg receives the next message into m. It returns io.EOF when the
	// call ended successfully and a status error otherwise.
	RecvMsg(m any) error
}
