package keepalive

import "time"

// ClientParameters sets how a client checks that its connections are alive
// (gRFC A8).
//
// Servers reject clients that ping too often: by default a server accepts
// at most one PING every five minutes (EnforcementPolicy.MinTime), and
// none while no call is open. A client whose pings are refused (GOAWAY
// ENHANCE_YOUR_CALM with "too_many_pings") doubles Time for its next
// connections.
type ClientParameters struct {
	// Time is how long a connection may go without receiving anything
	// before the client sends a PING. Without WithKeepaliveParams no
	// pings are sent. Values below 10 seconds, zero and negative ones
	// included, are raised to 10 seconds, as grpc-go does.
	Time time.Duration
	// Timeout is how long the client waits, after a PING, for anything
	// from the server before it closes the connection; the calls on it
	// fail with codes.Unavailable. Zero means 20 seconds; a negative value
	// is an error (every connection attempt fails and says so).
	Timeout time.Duration
	// PermitWithoutStream lets the client ping while it has no call open.
	// Without it, Time and Timeout apply only while a call is open.
	PermitWithoutStream bool
}

// ServerParameters sets how a server manages its connections (gRFC A9).
// Zero fields take their defaults. Negative durations are an error: every
// connection is closed at once with GOAWAY INTERNAL_ERROR saying which
// field is wrong.
type ServerParameters struct {
	// MaxConnectionIdle is how long a connection may have no call open
	// before the server closes it gracefully with GOAWAY ("max_idle").
	// Zero means no limit.
	MaxConnectionIdle time.Duration
	// MaxConnectionAge is how long a connection may live before the server
	// closes it gracefully with GOAWAY ("max_age"); each connection's age
	// is chosen within ±10 % of it, so that connections made together do
	// not all end together. Zero means no limit.
	MaxConnectionAge time.Duration
	// MaxConnectionAgeGrace is how long the calls of a connection past
	// MaxConnectionAge may take to finish before the connection is closed
	// at once. Zero means no limit.
	MaxConnectionAgeGrace time.Duration
	// Time is how long a connection may go without receiving anything
	// before the server sends a PING. Zero means two hours; positive
	// values below one second are raised to one second, as grpc-go does.
	Time time.Duration
	// Timeout is how long the server waits, after a PING, for anything
	// from the client before it closes the connection. Zero means 20
	// seconds.
	Timeout time.Duration
}

// EnforcementPolicy sets which client pings a server accepts (gRFC A8).
// A PING that comes sooner than MinTime after the previous one is a
// strike, and so is one while the client has no call open, unless
// PermitWithoutStream or two hours have passed since the previous one;
// strikes are forgiven once the server has sent data or the client has
// opened a call since its previous PING. The third strike closes the
// connection with GOAWAY ENHANCE_YOUR_CALM, debug data "too_many_pings".
// A server applies the default policy unless given another.
type EnforcementPolicy struct {
	// MinTime is the shortest interval between client pings that is not
	// a strike. Zero means five minutes; a negative value is an error, as
	// for ServerParameters.
	MinTime time.Duration
	// PermitWithoutStream accepts pings while the client has no call open.
	PermitWithoutStream bool
}
