package peer

import (
	"context"
	"net"

	"github.com/h2rpc/h2rpc/channel/credentials"
)

// Peer is the other end of an RPC.
type Peer struct {
	// Addr is the peer's address.
	Addr net.Addr
	// LocalAddr is the local address of the connection.
	LocalAddr net.Addr
	// AuthInfo is what the transport handshake learned about the peer; nil
	// if the connection has no handshake.
	AuthInfo credentials.AuthInfo
}

type peerKey struct{}

// NewContext returns a child of ctx carrying p.
func NewContext(ctx context.Context, p *Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// FromContext returns the Peer carried by ctx, if any.
func FromContext(ctx context.Context) (*Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(*Peer)
	return p, ok && p != nil
}
