package stub

// The typed streams below are what generated code hands to applications:
// each streaming method's client and server see a stream typed by its
// request (Req) and response (Res) messages.

// ServerStreamingClient is the client side of a call where the server sends
// a stream of responses.
type ServerStreamingClient[Res any] interface {
	// Recv returns the next response; io.EOF when the call succeeded.
	Recv() (*Res, error)
	ClientStream
}

// ServerStreamingServer is the server side of a call where the server sends
// a stream of responses.
type ServerStreamingServer[Res any] interface {
	Send(*Res) error
	ServerStream
}

// ClientStreamingClient is the client side of a call where the client sends
// a stream of requests and gets one response.
type ClientStreamingClient[Req any, Res any] interface {
	Send(*Req) error
	// CloseAndRecv ends the requests and returns the response.
	CloseAndRecv() (*Res, error)
	ClientStream
}

// ClientStreamingServer is the server side of a call where the client sends
// a stream of requests and gets one response.
type ClientStreamingServer[Req any, Res any] interface {
	// Recv returns the next request; io.EOF when the client is done.
	Recv() (*Req, error)
	// SendAndClose sends the response; the handler then returns nil.
	SendAndClose(*Res) error
	ServerStream
}

// BidiStreamingClient is the client side of a call where both sides send
// streams.
type BidiStreamingClient[Req any, Res any] interface {
	Send(*Req) error
	Recv() (*Res, error)
	ClientStream
}

// BidiStreamingServer is the server side of a call where both sides send
// streams.
type BidiStreamingServer[Req any, Res any] interface {
	Recv() (*Req, error)
	Send(*Res) error
	ServerStream
}

// GenericClientStream implements the typed client streams on top of a
// ClientStream.
type GenericClientStream[Req any, Res any] struct {
	ClientStream
}

var (
	_ ServerStreamingClient[int]      = (*GenericClientStream[int, int])(nil)
	_ ClientStreamingClient[int, int] = (*GenericClientStream[int, int])(nil)
	_ BidiStreamingClient[int, int]   = (*GenericClientStream[int, int])(nil)
)

// Send sends a request.
func (x *GenericClientStream[Req, Res]) Send(m *Req) error {
	return x.ClientStream.SendMsg(m)
}

// Recv receives the next response.
func (x *GenericClientStream[Req, Res]) Recv() (*Res, error) {
	m := new(Res)
	if err := x.ClientStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

// CloseAndRecv ends the requests and receives the single response.
func (x *GenericClientStream[Req, Res]) CloseAndRecv() (*Res, error) {
	if err := x.ClientStream.CloseSend(); err != nil {
		return nil, err
	}
	m := new(Res)
	if err := x.ClientStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

// GenericServerStream implements the typed server streams on top of a
// ServerStream.
type GenericServerStream[Req any, Res any] struct {
	ServerStream
}

var (
	_ ServerStreamingServer[int]      = (*GenericServerStream[int, int])(nil)
	_ ClientStreamingServer[int, int] = (*GenericServerStream[int, int])(nil)
	_ BidiStreamingServer[int, int]   = (*GenericServerStream[int, int])(nil)
)

// Send sends a response.
func (x *GenericServerStream[Req, Res]) Send(m *Res) error {
	return x.ServerStream.SendMsg(m)
}

// SendAndClose sends the single response of a client-streaming call.
func (x *GenericServerStream[Req, Res]) SendAndClose(m *Res) error {
	return x.ServerStream.SendMsg(m)
}

// Recv receives the next request.
func (x *GenericServerStream[Req, Res]) Recv() (*Req, error) {
	m := new(Req)
	if err := x.ServerStream.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}
