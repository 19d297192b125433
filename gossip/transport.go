package gossip

import "time"

// Transport carries a Node's packets and stream exchanges. NetTransport
// uses UDP and TCP; MemNetwork provides in-memory transports for tests and
// simulation. Addresses are opaque strings chosen by the transport.
type Transport interface {
	// Addr returns the address other members reach this transport at.
	Addr() string
	// Start begins delivering inbound packets and stream requests to h.
	Start(h Handler) error
	// SendPacket sends one unreliable datagram. It must not call back into
	// the Handler before returning.
	SendPacket(to string, b []byte) error
	// Exchange sends req over a reliable stream and calls done with the
	// peer's response, or with an error when the peer cannot be reached or
	// does not answer within timeout. done is called exactly once, never
	// before Exchange returns.
	Exchange(to string, req []byte, timeout time.Duration, done func(resp []byte, err error))
	// Close stops the transport; it returns after its goroutines are gone.
	Close() error
}

// Handler receives what a Transport delivers. Node implements it.
type Handler interface {
	// HandlePacket handles one inbound datagram. b is only valid for the
	// duration of the call.
	HandlePacket(from string, b []byte)
	// HandleStream handles one inbound stream request and returns the
	// response to send, or nil to close the stream without one.
	HandleStream(from string, req []byte) []byte
}
