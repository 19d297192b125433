package frame

import "strconv"

// SettingID identifies a SETTINGS parameter (RFC 9113 §6.5.2).
type SettingID uint16

// Settings parameters defined by RFC 9113 §6.5.2.
const (
	SettingHeaderTableSize      SettingID = 0x1
	SettingEnablePush           SettingID = 0x2
	SettingMaxConcurrentStreams SettingID = 0x3
	SettingInitialWindowSize    SettingID = 0x4
	SettingMaxFrameSize         SettingID = 0x5
	SettingMaxHeaderListSize    SettingID = 0x6
)

var settingNames = [...]string{"", "HEADER_TABLE_SIZE", "ENABLE_PUSH", "MAX_CONCURRENT_STREAMS", "INITIAL_WINDOW_SIZE", "MAX_FRAME_SIZE", "MAX_HEADER_LIST_SIZE"}

// String returns the setting's name in RFC 9113, such as "MAX_FRAME_SIZE".
func (s SettingID) String() string {
	if s > 0 && int(s) < len(settingNames) {
		return settingNames[s]
	}
	return "UNKNOWN_SETTING_" + strconv.Itoa(int(s))
}

// Setting is one parameter of a SETTINGS frame.
type Setting struct {
	ID  SettingID
	Val uint32
}

// Protocol limits (RFC 9113 §4.2, §6.5.2, §6.9.1).
const (
	// MinMaxFrameSize is the smallest value of SETTINGS_MAX_FRAME_SIZE and its default.
	MinMaxFrameSize = 1 << 14
	// MaxMaxFrameSize is the largest value of SETTINGS_MAX_FRAME_SIZE.
	MaxMaxFrameSize = 1<<24 - 1
	// MaxWindowSize is the largest flow-control window.
	MaxWindowSize = 1<<31 - 1
	// DefaultWindowSize is the initial window of streams and of the connection.
	DefaultWindowSize = 65535
	// DefaultHeaderTableSize is the default SETTINGS_HEADER_TABLE_SIZE.
	DefaultHeaderTableSize = 4096
)

// Valid checks a received parameter value (RFC 9113 §6.5.2). Unknown
// parameters are always valid: they must be ignored.
func (s Setting) Valid() error {
	switch s.ID {
	case SettingEnablePush:
		if s.Val > 1 {
			return connErr(ErrCodeProtocol, "SETTINGS_ENABLE_PUSH must be 0 or 1, got %d", s.Val)
		}
	case SettingInitialWindowSize:
		if s.Val > MaxWindowSize {
			return connErr(ErrCodeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE %d above 2^31-1", s.Val)
		}
	case SettingMaxFrameSize:
		if s.Val < MinMaxFrameSize || s.Val > MaxMaxFrameSize {
			return connErr(ErrCodeProtocol, "SETTINGS_MAX_FRAME_SIZE %d outside [2^14, 2^24-1]", s.Val)
		}
	}
	return nil
}

// Settings is the full set of parameters one endpoint has announced. The zero
// value is not useful; start from DefaultSettings.
type Settings struct {
	HeaderTableSize      uint32
	EnablePush           bool
	MaxConcurrentStreams uint32 // math.MaxUint32 when unlimited
	InitialWindowSize    uint32
	MaxFrameSize         uint32
	MaxHeaderListSize    uint32 // math.MaxUint32 when unlimited
}

// DefaultSettings returns the values in force before a peer's first SETTINGS
// frame arrives (RFC 9113 §6.5.2).
func DefaultSettings() Settings {
	return Settings{
		HeaderTableSize:      DefaultHeaderTableSize,
		EnablePush:           true,
		MaxConcurrentStreams: 1<<32 - 1,
		InitialWindowSize:    DefaultWindowSize,
		MaxFrameSize:         MinMaxFrameSize,
		MaxHeaderListSize:    1<<32 - 1,
	}
}

// Apply sets one received parameter, which must be Valid. Unknown
// parameters are ignored, as RFC 9113 §6.5.2 requires.
func (s *Settings) Apply(p Setting) {
	switch p.ID {
	case SettingHeaderTableSize:
		s.HeaderTableSize = p.Val
	case SettingEnablePush:
		s.EnablePush = p.Val == 1
	case SettingMaxConcurrentStreams:
		s.MaxConcurrentStreams = p.Val
	case SettingInitialWindowSize:
		s.InitialWindowSize = p.Val
	case SettingMaxFrameSize:
		s.MaxFrameSize = p.Val
	case SettingMaxHeaderListSize:
		s.MaxHeaderListSize = p.Val
	}
}

// Diff returns, appended to dst, the parameters in which s differs from the
// protocol defaults: what an endpoint must announce to put s in force.
func (s *Settings) Diff(dst []Setting) []Setting {
	d := DefaultSettings()
	if s.HeaderTableSize != d.HeaderTableSize {
		dst = append(dst, Setting{SettingHeaderTableSize, s.HeaderTableSize})
	}
	if s.EnablePush != d.EnablePush {
		v := uint32(0)
		if s.EnablePush {
			v = 1
		}
		dst = append(dst, Setting{SettingEnablePush, v})
	}
	if s.MaxConcurrentStreams != d.MaxConcurrentStreams {
		dst = append(dst, Setting{SettingMaxConcurrentStreams, s.MaxConcurrentStreams})
	}
	if s.InitialWindowSize != d.InitialWindowSize {
		dst = append(dst, Setting{SettingInitialWindowSize, s.InitialWindowSize})
	}
	if s.MaxFrameSize != d.MaxFrameSize {
		dst = append(dst, Setting{SettingMaxFrameSize, s.MaxFrameSize})
	}
	if s.MaxHeaderListSize != d.MaxHeaderListSize {
		dst = append(dst, Setting{SettingMaxHeaderListSize, s.MaxHeaderListSize})
	}
	return dst
}
