package stream

import (
	"fmt"
	"time"

	"github.com/h2rpc/h2rpc/frame"
)

// Config holds the parameters of a connection. The zero value of each field
// selects its default.
type Config struct {
	// MaxConcurrentStreams is the number of streams the peer may open at
	// once (SETTINGS_MAX_CONCURRENT_STREAMS). Default 256. Streams beyond
	// it are refused with REFUSED_STREAM.
	MaxConcurrentStreams uint32
	// InitialWindowSize is the receive window of each stream before
	// bandwidth-delay estimation grows it. Default 64 KiB.
	InitialWindowSize uint32
	// InitialConnWindowSize is the receive window of the connection before
	// bandwidth-delay estimation grows it. Default 64 KiB.
	InitialConnWindowSize uint32
	// DisableBDP keeps the windows fixed at their initial sizes.
	DisableBDP bool
	// MaxFrameSize is the largest frame payload accepted
	// (SETTINGS_MAX_FRAME_SIZE). Default 16 KiB.
	MaxFrameSize uint32
	// MaxHeaderListSize is the largest header list accepted
	// (SETTINGS_MAX_HEADER_LIST_SIZE). Default 64 KiB.
	MaxHeaderListSize uint32
	// HeaderTableSize is the HPACK dynamic table size the peer may use for
	// what it sends us (SETTINGS_HEADER_TABLE_SIZE). Default 4096.
	HeaderTableSize uint32
	// SettingsTimeout is how long the peer has to acknowledge our SETTINGS
	// before the connection is closed with SETTINGS_TIMEOUT. Default 10s.
	SettingsTimeout time.Duration
	// WriteTimeout bounds a write that makes no progress while the
	// connection is being closed. Default 5s.
	WriteTimeout time.Duration
	// OverheadBudget is how many frames that make no progress a peer may
	// send in a burst before the connection is closed with GOAWAY
	// ENHANCE_YOUR_CALM: RST_STREAM on a stream whose response we had not
	// finished (rapid reset), SETTINGS, PING while we send no data,
	// PRIORITY, empty DATA or CONTINUATION frames, unknown frame types,
	// frames that get a stream reset, requests whose header list is over
	// MaxHeaderListSize (ten each), and writes refused by
	// MaxBlockedSendBytes (weighed by their size, one more per 16 KiB).
	// The allowance refills by a tenth of
	// the budget per second and by one for every stream we finish. Default
	// 1000; negative turns the check off.
	OverheadBudget int
	// MaxBlockedSendBytes bounds the bytes that writers of the
	// connection's streams may hold while they wait for the peer's
	// flow-control window (a peer that asks for large responses and never
	// reads would otherwise pin them all). A write that would take the
	// total over it resets its stream with ENHANCE_YOUR_CALM and fails
	// with ErrSendBudget. Default 64 MiB; negative means no limit.
	MaxBlockedSendBytes int
	// SendBudget, when set, is shared by several connections (a server's)
	// and bounds the bytes all their blocked writers hold together, in
	// addition to MaxBlockedSendBytes.
	SendBudget *Budget
	// ReadBufferSize is the size of the buffer each read of the
	// connection fills (default 32 KiB); the connection holds none while
	// idle.
	ReadBufferSize int
	// WriteBufferSize is how many bytes may wait to be written before
	// writers wait for the connection to drain (default 256 KiB).
	WriteBufferSize int

	// KeepaliveTime is how long the connection may go without reading a
	// frame before we send a PING to check that the peer is still there
	// (gRFC A8 for clients, A9 for servers). Zero sends no keepalive
	// pings.
	KeepaliveTime time.Duration
	// KeepaliveTimeout is how long, after a keepalive PING, we wait for
	// any frame from the peer before closing the connection. Default 20s.
	KeepaliveTimeout time.Duration
	// KeepalivePermitWithoutStream lets a client send keepalive pings
	// while it has no stream open; without it a client with no streams
	// sends none. A server pings whatever its streams.
	KeepalivePermitWithoutStream bool
	// MaxConnectionIdle (server) is how long a connection may run no
	// handler before it is closed gracefully with GOAWAY NO_ERROR and
	// debug data "max_idle". Zero means no limit.
	MaxConnectionIdle time.Duration
	// MaxConnectionAge (server) is how long a connection may live, give or
	// take a random 10 % chosen per connection, before it is closed
	// gracefully with GOAWAY NO_ERROR and debug data "max_age". Zero means
	// no limit.
	MaxConnectionAge time.Duration
	// MaxConnectionAgeGrace (server) is how long the streams of a
	// connection past MaxConnectionAge may take to finish before the
	// connection is closed at once. Zero means no limit.
	MaxConnectionAgeGrace time.Duration
	// PingPolicyMinTime (server) is the shortest interval between the
	// client's PINGs that does not count against it: a PING sooner than
	// that after the previous one, or one while no stream is open (unless
	// PingPolicyPermitWithoutStream; then it must be two hours after the
	// previous one), is a strike, and the third strike closes the
	// connection with GOAWAY ENHANCE_YOUR_CALM and debug data
	// "too_many_pings". Strikes are forgiven once we have sent data or the
	// client has opened a stream since its previous PING. Zero applies no
	// policy (OverheadBudget still limits PING floods).
	PingPolicyMinTime time.Duration
	// PingPolicyPermitWithoutStream lets a client ping at PingPolicyMinTime
	// while it has no stream open.
	PingPolicyPermitWithoutStream bool
}

// Validate reports a configuration that cannot be used: a negative
// keepalive or connection age duration. NewClientConn returns its error;
// a server connection with such a configuration closes at once with
// GOAWAY INTERNAL_ERROR carrying it.
func (c *Config) Validate() error {
	if c == nil {
		return nil
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"KeepaliveTime", c.KeepaliveTime},
		{"KeepaliveTimeout", c.KeepaliveTimeout},
		{"MaxConnectionIdle", c.MaxConnectionIdle},
		{"MaxConnectionAge", c.MaxConnectionAge},
		{"MaxConnectionAgeGrace", c.MaxConnectionAgeGrace},
		{"PingPolicyMinTime", c.PingPolicyMinTime},
	} {
		if d.v < 0 {
			return fmt.Errorf("stream: invalid Config: %s is negative (%v)", d.name, d.v)
		}
	}
	return nil
}

func (c *Config) withDefaults() Config {
	d := Config{}
	if c != nil {
		d = *c
	}
	if d.MaxConcurrentStreams == 0 {
		d.MaxConcurrentStreams = 256
	}
	if d.InitialWindowSize == 0 {
		d.InitialWindowSize = 64 << 10
	}
	if d.InitialConnWindowSize == 0 {
		d.InitialConnWindowSize = 64 << 10
	}
	if d.MaxFrameSize == 0 {
		d.MaxFrameSize = frame.MinMaxFrameSize
	}
	d.MaxFrameSize = min(max(d.MaxFrameSize, frame.MinMaxFrameSize), frame.MaxMaxFrameSize)
	if d.MaxHeaderListSize == 0 {
		d.MaxHeaderListSize = 64 << 10
	}
	if d.HeaderTableSize == 0 {
		d.HeaderTableSize = frame.DefaultHeaderTableSize
	}
	if d.SettingsTimeout == 0 {
		d.SettingsTimeout = 10 * time.Second
	}
	if d.WriteTimeout == 0 {
		d.WriteTimeout = 5 * time.Second
	}
	if d.OverheadBudget == 0 {
		d.OverheadBudget = 1000
	}
	if d.KeepaliveTimeout == 0 {
		d.KeepaliveTimeout = 20 * time.Second
	}
	if d.MaxBlockedSendBytes == 0 {
		d.MaxBlockedSendBytes = 64 << 20
	}
	return d
}

// settings is what we announce for this configuration.
func (c *Config) settings() frame.Settings {
	s := frame.DefaultSettings()
	s.EnablePush = false
	s.MaxConcurrentStreams = c.MaxConcurrentStreams
	s.InitialWindowSize = c.InitialWindowSize
	s.MaxFrameSize = c.MaxFrameSize
	s.MaxHeaderListSize = c.MaxHeaderListSize
	s.HeaderTableSize = c.HeaderTableSize
	return s
}
