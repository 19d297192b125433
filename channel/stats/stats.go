package stats

import (
	"context"
	"net"
	"time"

	"github.com/h2rpc/h2rpc/channel/metadata"
)

// RPCStats is an event of a call attempt.
type RPCStats interface {
	isRPCStats()
	// IsClient reports whether the event is from the client side.
	IsClient() bool
}

// Begin is the start of a call attempt (client) or call (server).
type Begin struct {
	// Client is true on the client side.
	Client bool
	// BeginTime is when the attempt began.
	BeginTime time.Time
	// FailFast is true unless the call waits for a ready connection.
	FailFast bool
	// IsClientStream is true for client- and bidi-streaming methods.
	IsClientStream bool
	// IsServerStream is true for server- and bidi-streaming methods.
	IsServerStream bool
	// IsTransparentRetryAttempt is true for an attempt made because the
	// previous one never reached the server.
	IsTransparentRetryAttempt bool
}

// IsClient implements RPCStats.
func (s *Begin) IsClient() bool { return s.Client }
func (s *Begin) isRPCStats()    {}

// InPayload is a message received.
type InPayload struct {
	// Client is true on the client side.
	Client bool
	// Payload is the message; always nil (the channel layer carries bytes).
	Payload any
	// Length is the size of the message, decompressed.
	Length int
	// CompressedLength is the size of the message as received.
	CompressedLength int
	// WireLength is CompressedLength plus the 5-byte prefix.
	WireLength int
	// RecvTime is when the message was received.
	RecvTime time.Time
}

// IsClient implements RPCStats.
func (s *InPayload) IsClient() bool { return s.Client }
func (s *InPayload) isRPCStats()    {}

// InHeader is the header list received: the request headers on the server,
// the response headers on the client (not sent for a Trailers-Only
// response, which is an InTrailer).
type InHeader struct {
	// Client is true on the client side.
	Client bool
	// WireLength is the header list's size as HTTP/2 counts it.
	WireLength int
	// Compression is the grpc-encoding received.
	Compression string
	// Header is the metadata received.
	Header metadata.MD
	// FullMethod is the method ("/package.Service/Method"); server only.
	FullMethod string
	// RemoteAddr and LocalAddr are the connection's addresses; server only.
	RemoteAddr net.Addr
	LocalAddr  net.Addr
}

// IsClient implements RPCStats.
func (s *InHeader) IsClient() bool { return s.Client }
func (s *InHeader) isRPCStats()    {}

// InTrailer is the trailers received; client only.
type InTrailer struct {
	// Client is true on the client side.
	Client bool
	// WireLength is the trailer list's size as HTTP/2 counts it.
	WireLength int
	// Trailer is the trailer metadata.
	Trailer metadata.MD
}

// IsClient implements RPCStats.
func (s *InTrailer) IsClient() bool { return s.Client }
func (s *InTrailer) isRPCStats()    {}

// OutPayload is a message sent.
type OutPayload struct {
	// Client is true on the client side.
	Client bool
	// Payload is the message; always nil (the channel layer carries bytes).
	Payload any
	// Length is the size of the message, uncompressed.
	Length int
	// CompressedLength is the size of the message as sent.
	CompressedLength int
	// WireLength is CompressedLength plus the 5-byte prefix.
	WireLength int
	// SentTime is when the message was sent.
	SentTime time.Time
}

// IsClient implements RPCStats.
func (s *OutPayload) IsClient() bool { return s.Client }
func (s *OutPayload) isRPCStats()    {}

// OutHeader is the header list sent: the request headers on the client,
// the response headers on the server (not sent for a Trailers-Only
// response).
type OutHeader struct {
	// Client is true on the client side.
	Client bool
	// Compression is the grpc-encoding sent.
	Compression string
	// Header is the metadata sent.
	Header metadata.MD
	// FullMethod is the method; client only.
	FullMethod string
	// RemoteAddr and LocalAddr are the connection's addresses; client only.
	RemoteAddr net.Addr
	LocalAddr  net.Addr
}

// IsClient implements RPCStats.
func (s *OutHeader) IsClient() bool { return s.Client }
func (s *OutHeader) isRPCStats()    {}

// OutTrailer is the trailers sent; server only.
type OutTrailer struct {
	// Client is true on the client side.
	Client bool
	// WireLength is the trailer list's size as HTTP/2 counts it.
	WireLength int
	// Trailer is the trailer metadata sent.
	Trailer metadata.MD
}

// IsClient implements RPCStats.
func (s *OutTrailer) IsClient() bool { return s.Client }
func (s *OutTrailer) isRPCStats()    {}

// End is the end of a call attempt (client) or call (server).
type End struct {
	// Client is true on the client side.
	Client bool
	// BeginTime is when the attempt began, EndTime when it ended.
	BeginTime time.Time
	EndTime   time.Time
	// Trailer is the trailer metadata received (client) or sent (server).
	Trailer metadata.MD
	// Error is the status error of the attempt; nil for OK.
	Error error
}

// IsClient implements RPCStats.
func (s *End) IsClient() bool { return s.Client }
func (s *End) isRPCStats()    {}

// ConnStats is an event of a connection.
type ConnStats interface {
	isConnStats()
	// IsClient reports whether the connection is a client's.
	IsClient() bool
}

// ConnBegin is a connection established.
type ConnBegin struct {
	// Client is true on the client side.
	Client bool
}

// IsClient implements ConnStats.
func (s *ConnBegin) IsClient() bool { return s.Client }
func (s *ConnBegin) isConnStats()   {}

// ConnEnd is a connection ended.
type ConnEnd struct {
	// Client is true on the client side.
	Client bool
}

// IsClient implements ConnStats.
func (s *ConnEnd) IsClient() bool { return s.Client }
func (s *ConnEnd) isConnStats()   {}

// RPCTagInfo describes a call attempt to TagRPC.
type RPCTagInfo struct {
	// FullMethodName is the method, "/package.Service/Method".
	FullMethodName string
	// FailFast is true unless the call waits for a ready connection.
	FailFast bool
}

// ConnTagInfo describes a connection to TagConn.
type ConnTagInfo struct {
	// RemoteAddr and LocalAddr are the connection's addresses.
	RemoteAddr net.Addr
	LocalAddr  net.Addr
}

// Handler is told of calls and connections. Its methods may be called from
// several goroutines at once.
type Handler interface {
	// TagRPC may attach values to a call attempt's context; the context it
	// returns is the one given to HandleRPC for the attempt's events, and,
	// on the client, the one whose outgoing metadata the request carries.
	TagRPC(context.Context, *RPCTagInfo) context.Context
	// HandleRPC is told of each event of a call attempt, in order.
	HandleRPC(context.Context, RPCStats)
	// TagConn may attach values to a connection's context, the one given
	// to HandleConn.
	TagConn(context.Context, *ConnTagInfo) context.Context
	// HandleConn is told of a connection's begin and end.
	HandleConn(context.Context, ConnStats)
}
