package stream

import (
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
	// frames that get a stream reset, and writes refused by
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
