package frame

import (
	"fmt"
	"strconv"
)

// HeaderLen is the length of the fixed frame header (RFC 9113 §4.1).
const HeaderLen = 9

// ClientPreface is the string a client sends before its first frame
// (RFC 9113 §3.4).
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Type is a frame type (RFC 9113 §6).
type Type uint8

// Frame types defined by RFC 9113 §6.
const (
	TypeData         Type = 0x0
	TypeHeaders      Type = 0x1
	TypePriority     Type = 0x2
	TypeRSTStream    Type = 0x3
	TypeSettings     Type = 0x4
	TypePushPromise  Type = 0x5
	TypePing         Type = 0x6
	TypeGoAway       Type = 0x7
	TypeWindowUpdate Type = 0x8
	TypeContinuation Type = 0x9
)

var typeNames = [...]string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"}

// String returns the frame type's name in RFC 9113, such as "HEADERS".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "UNKNOWN_FRAME_TYPE_" + strconv.Itoa(int(t))
}

// Flags are the flag bits of a frame header.
type Flags uint8

// Flags defined by RFC 9113 §6. Their meaning depends on the frame type.
const (
	FlagEndStream  Flags = 0x1  // DATA, HEADERS
	FlagAck        Flags = 0x1  // SETTINGS, PING
	FlagEndHeaders Flags = 0x4  // HEADERS, PUSH_PROMISE, CONTINUATION
	FlagPadded     Flags = 0x8  // DATA, HEADERS, PUSH_PROMISE
	FlagPriority   Flags = 0x20 // HEADERS
)

// Has reports whether all bits of v are set in f.
func (f Flags) Has(v Flags) bool { return f&v == v }

// ErrCode is an HTTP/2 error code, carried by RST_STREAM and GOAWAY
// (RFC 9113 §7).
type ErrCode uint32

// Error codes defined by RFC 9113 §7.
const (
	ErrCodeNo                 ErrCode = 0x0
	ErrCodeProtocol           ErrCode = 0x1
	ErrCodeInternal           ErrCode = 0x2
	ErrCodeFlowControl        ErrCode = 0x3
	ErrCodeSettingsTimeout    ErrCode = 0x4
	ErrCodeStreamClosed       ErrCode = 0x5
	ErrCodeFrameSize          ErrCode = 0x6
	ErrCodeRefusedStream      ErrCode = 0x7
	ErrCodeCancel             ErrCode = 0x8
	ErrCodeCompression        ErrCode = 0x9
	ErrCodeConnect            ErrCode = 0xa
	ErrCodeEnhanceYourCalm    ErrCode = 0xb
	ErrCodeInadequateSecurity ErrCode = 0xc
	ErrCodeHTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}

// String returns the error code's name in RFC 9113, such as "REFUSED_STREAM".
func (c ErrCode) String() string {
	if int(c) < len(errCodeNames) {
		return errCodeNames[c]
	}
	return "UNKNOWN_ERROR_CODE_0x" + strconv.FormatUint(uint64(c), 16)
}

// ConnError is a connection error (RFC 9113 §5.4.1): the connection must be
// closed after sending GOAWAY with Code.
type ConnError struct {
	Code   ErrCode
	Reason string
}

// Error describes the connection error.
func (e *ConnError) Error() string {
	return fmt.Sprintf("http2: connection error %v: %s", e.Code, e.Reason)
}

// StreamError is a stream error (RFC 9113 §5.4.2): the stream must be reset
// with RST_STREAM carrying Code; the connection goes on.
type StreamError struct {
	StreamID uint32
	Code     ErrCode
	Reason   string
}

// Error describes the stream error.
func (e *StreamError) Error() string {
	return fmt.Sprintf("http2: stream %d error %v: %s", e.StreamID, e.Code, e.Reason)
}

func connErr(code ErrCode, format string, args ...any) error {
	return &ConnError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

func streamErr(id uint32, code ErrCode, format string, args ...any) error {
	return &StreamError{StreamID: id, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Header is the fixed 9-byte header of every frame (RFC 9113 §4.1).
type Header struct {
	Length   uint32 // payload length, 24 bits
	Type     Type
	Flags    Flags
	StreamID uint32 // 31 bits; the reserved bit is ignored on receipt
}

// ParseHeader decodes a frame header from the first HeaderLen bytes of b.
func ParseHeader(b []byte) Header {
	_ = b[8]
	return Header{
		Length:   uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
		Type:     Type(b[3]),
		Flags:    Flags(b[4]),
		StreamID: (uint32(b[5])<<24 | uint32(b[6])<<16 | uint32(b[7])<<8 | uint32(b[8])) & (1<<31 - 1),
	}
}

// Priority is the content of a PRIORITY frame or of the priority fields of
// HEADERS (RFC 9113 §5.3.2, §6.3). HTTP/2 priorities are deprecated; h2rpc
// checks them for validity and otherwise ignores them.
type Priority struct {
	StreamDep uint32
	Exclusive bool
	Weight    uint8 // the weight minus one, as on the wire
}

// Frame is a parsed frame. Which fields are set depends on Type. Byte slices
// point into the reader's buffer and stay valid only until the next read.
type Frame struct {
	Header

	// Data is the payload of DATA without padding, or the header block
	// fragment of HEADERS, PUSH_PROMISE and CONTINUATION, or the debug data
	// of GOAWAY, or the raw payload of an unknown frame type.
	Data []byte
	// Priority is set for PRIORITY, and for HEADERS with FlagPriority.
	Priority Priority
	// ErrCode is set for RST_STREAM and GOAWAY.
	ErrCode ErrCode
	// LastStreamID is set for GOAWAY.
	LastStreamID uint32
	// PromisedID is set for PUSH_PROMISE.
	PromisedID uint32
	// Increment is set for WINDOW_UPDATE.
	Increment uint32
	// PingData is set for PING.
	PingData [8]byte

	settings []byte
}

// EndStream reports whether a DATA or HEADERS frame ends its stream.
func (f *Frame) EndStream() bool {
	return (f.Type == TypeData || f.Type == TypeHeaders) && f.Flags.Has(FlagEndStream)
}

// EndHeaders reports whether a HEADERS, PUSH_PROMISE or CONTINUATION frame
// ends its header block.
func (f *Frame) EndHeaders() bool {
	return (f.Type == TypeHeaders || f.Type == TypePushPromise || f.Type == TypeContinuation) && f.Flags.Has(FlagEndHeaders)
}

// IsAck reports whether a SETTINGS or PING frame is an acknowledgement.
func (f *Frame) IsAck() bool {
	return (f.Type == TypeSettings || f.Type == TypePing) && f.Flags.Has(FlagAck)
}

// NumSettings returns the number of parameters in a SETTINGS frame.
func (f *Frame) NumSettings() int { return len(f.settings) / 6 }

// Setting returns the i-th parameter of a SETTINGS frame.
func (f *Frame) Setting(i int) Setting {
	b := f.settings[i*6:]
	return Setting{
		ID:  SettingID(uint16(b[0])<<8 | uint16(b[1])),
		Val: uint32(b[2])<<24 | uint32(b[3])<<16 | uint32(b[4])<<8 | uint32(b[5]),
	}
}

// String describes the frame for logs and test failures.
func (f *Frame) String() string {
	return fmt.Sprintf("%v stream=%d len=%d flags=0x%x", f.Type, f.StreamID, f.Length, uint8(f.Flags))
}
