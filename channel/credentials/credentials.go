package credentials

import (
	"context"
	"net"
)

// AuthInfo describes what a transport handshake learned about the peer.
type AuthInfo interface {
	// AuthType names the kind of authentication, such as "tls".
	AuthType() string
}

// ProtocolInfo describes the security protocol of a TransportCredentials.
type ProtocolInfo struct {
	// SecurityProtocol is "tls" or "insecure".
	SecurityProtocol string
}

// TransportCredentials secures connections on the client and server side.
// Implementations must be safe for concurrent use.
type TransportCredentials interface {
	// ClientHandshake secures rawConn for a connection to authority (a
	// host:port, or a host) and returns the conn to use instead, with what
	// it learned about the server. It gives up when ctx is done. On error
	// rawConn is closed.
	ClientHandshake(ctx context.Context, authority string, rawConn net.Conn) (net.Conn, AuthInfo, error)
	// ServerHandshake secures an accepted rawConn and returns the conn to
	// use instead, with what it learned about the client. The caller bounds
	// it with a deadline on rawConn. On error rawConn is closed.
	ServerHandshake(rawConn net.Conn) (net.Conn, AuthInfo, error)
	// Info describes the security protocol.
	Info() ProtocolInfo
	// Clone returns an independent copy.
	Clone() TransportCredentials
}
