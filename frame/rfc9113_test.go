package frame

import (
	"bytes"
	"io"
	"testing"

	"golang.org/x/net/http2"
)

// A wireCase is one frame, or one run of frames, on the wire: the bytes
// written by hand from RFC 9113, how h2rpc appends them, how x/net's Framer
// writes them, and the frames our Reader must make of them.
type wireCase struct {
	name   string
	bytes  string                    // hex, spaces ignored
	append func([]byte) []byte       // nil when h2rpc never writes this form
	xnet   func(*http2.Framer) error // nil when x/net would write other bytes
	frames []Frame
}

func hdr(length uint32, t Type, fl Flags, stream uint32) Header {
	return Header{Length: length, Type: t, Flags: fl, StreamID: stream}
}

func testWire(t *testing.T, cases []wireCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := hexBytes(c.bytes)
			if c.append != nil {
				if got := c.append(nil); !bytes.Equal(got, want) {
					t.Errorf("Append:\n got % x\nwant % x", got, want)
				}
				prefix := []byte("prefix")
				if got := c.append(prefix); !bytes.Equal(got, append(prefix, want...)) {
					t.Errorf("Append after a prefix:\n got % x", got)
				}
			}
			src := want
			if c.xnet != nil {
				src = xnetBytes(t, c.xnet)
				if !bytes.Equal(src, want) {
					t.Errorf("x/net writes:\n got % x\nwant % x", src, want)
				}
			}
			r := NewReader(bytes.NewReader(src))
			for i := range c.frames {
				f, err := r.ReadFrame()
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if got, want := describe(f), describe(&c.frames[i]); got != want {
					t.Errorf("frame %d:\n got %s\nwant %s", i, got, want)
				}
			}
			if f, err := r.ReadFrame(); err != io.EOF {
				t.Fatalf("after the last frame: %v, %v; want EOF", f, err)
			}
		})
	}
}

func TestRFC9113_6_1_Data(t *testing.T) {
	testWire(t, []wireCase{{
		name:   "Plain",
		bytes:  "000005 00 00 00000001 68656c6c6f",
		append: func(b []byte) []byte { return AppendData(b, 1, false, []byte("hello")) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteData(1, false, []byte("hello")) },
		frames: []Frame{{Header: hdr(5, TypeData, 0, 1), Data: []byte("hello")}},
	}, {
		name:   "EmptyEndStream",
		bytes:  "000000 00 01 00000003",
		append: func(b []byte) []byte { return AppendData(b, 3, true, nil) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteData(3, true, nil) },
		frames: []Frame{{Header: hdr(0, TypeData, FlagEndStream, 3)}},
	}, {
		name:   "LargestStreamID",
		bytes:  "000001 00 00 7fffffff 78",
		append: func(b []byte) []byte { return AppendData(b, 1<<31-1, false, []byte("x")) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteData(1<<31-1, false, []byte("x")) },
		frames: []Frame{{Header: hdr(1, TypeData, 0, 1<<31-1), Data: []byte("x")}},
	}, {
		name:   "Padded",
		bytes:  "000006 00 08 00000001 03 6869 000000",
		xnet:   func(fr *http2.Framer) error { return fr.WriteDataPadded(1, false, []byte("hi"), make([]byte, 3)) },
		frames: []Frame{{Header: hdr(6, TypeData, FlagPadded, 1), Data: []byte("hi")}},
	}, {
		name:   "AllPadding",
		bytes:  "000003 00 09 00000001 02 0000",
		xnet:   func(fr *http2.Framer) error { return fr.WriteDataPadded(1, true, nil, make([]byte, 2)) },
		frames: []Frame{{Header: hdr(3, TypeData, FlagPadded|FlagEndStream, 1)}},
	}})
}

func TestRFC9113_6_2_Headers(t *testing.T) {
	testWire(t, []wireCase{{
		name:   "EndStream",
		bytes:  "000002 01 05 00000001 8286",
		append: func(b []byte) []byte { return AppendHeaders(b, 1, true, []byte{0x82, 0x86}, MinMaxFrameSize) },
		xnet: func(fr *http2.Framer) error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x82, 0x86}, EndStream: true, EndHeaders: true})
		},
		frames: []Frame{{Header: hdr(2, TypeHeaders, FlagEndStream|FlagEndHeaders, 1), Data: []byte{0x82, 0x86}}},
	}, {
		name:   "EmptyBlock",
		bytes:  "000000 01 04 00000003",
		append: func(b []byte) []byte { return AppendHeaders(b, 3, false, nil, MinMaxFrameSize) },
		xnet: func(fr *http2.Framer) error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, EndHeaders: true})
		},
		frames: []Frame{{Header: hdr(0, TypeHeaders, FlagEndHeaders, 3)}},
	}, {
		name:  "PriorityAndPadding",
		bytes: "000009 01 2c 00000003 02 80000001 0f 82 0000",
		xnet: func(fr *http2.Framer) error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: []byte{0x82}, EndHeaders: true, PadLength: 2,
				Priority: http2.PriorityParam{StreamDep: 1, Exclusive: true, Weight: 15}})
		},
		frames: []Frame{{Header: hdr(9, TypeHeaders, FlagPriority|FlagPadded|FlagEndHeaders, 3), Data: []byte{0x82},
			Priority: Priority{StreamDep: 1, Exclusive: true, Weight: 15}}},
	}})
}

func TestRFC9113_6_3_Priority(t *testing.T) {
	testWire(t, []wireCase{{
		name:  "Exclusive",
		bytes: "000005 02 00 00000005 80000003 ff",
		append: func(b []byte) []byte {
			return AppendPriority(b, 5, Priority{StreamDep: 3, Exclusive: true, Weight: 255})
		},
		xnet: func(fr *http2.Framer) error {
			return fr.WritePriority(5, http2.PriorityParam{StreamDep: 3, Exclusive: true, Weight: 255})
		},
		frames: []Frame{{Header: hdr(5, TypePriority, 0, 5), Priority: Priority{StreamDep: 3, Exclusive: true, Weight: 255}}},
	}, {
		name:   "OnRoot",
		bytes:  "000005 02 00 00000007 00000000 00",
		append: func(b []byte) []byte { return AppendPriority(b, 7, Priority{}) },
		xnet:   func(fr *http2.Framer) error { return fr.WritePriority(7, http2.PriorityParam{}) },
		frames: []Frame{{Header: hdr(5, TypePriority, 0, 7)}},
	}})
}

func TestRFC9113_6_4_RSTStream(t *testing.T) {
	testWire(t, []wireCase{{
		name:   "Cancel",
		bytes:  "000004 03 00 00000007 00000008",
		append: func(b []byte) []byte { return AppendRSTStream(b, 7, ErrCodeCancel) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteRSTStream(7, http2.ErrCodeCancel) },
		frames: []Frame{{Header: hdr(4, TypeRSTStream, 0, 7), ErrCode: ErrCodeCancel}},
	}, {
		name:   "UnknownCode",
		bytes:  "000004 03 00 00000001 deadbeef",
		append: func(b []byte) []byte { return AppendRSTStream(b, 1, 0xdeadbeef) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteRSTStream(1, 0xdeadbeef) },
		frames: []Frame{{Header: hdr(4, TypeRSTStream, 0, 1), ErrCode: 0xdeadbeef}},
	}})
}

func TestRFC9113_6_5_Settings(t *testing.T) {
	testWire(t, []wireCase{{
		name:  "Params",
		bytes: "00000c 04 00 00000000 0003 00000064 0004 00100000",
		append: func(b []byte) []byte {
			return AppendSettings(b, Setting{SettingMaxConcurrentStreams, 100}, Setting{SettingInitialWindowSize, 1 << 20})
		},
		xnet: func(fr *http2.Framer) error {
			return fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		},
		frames: []Frame{{Header: hdr(12, TypeSettings, 0, 0), settings: hexBytes("0003 00000064 0004 00100000")}},
	}, {
		name:   "Empty",
		bytes:  "000000 04 00 00000000",
		append: func(b []byte) []byte { return AppendSettings(b) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteSettings() },
		frames: []Frame{{Header: hdr(0, TypeSettings, 0, 0)}},
	}, {
		name:   "Ack",
		bytes:  "000000 04 01 00000000",
		append: AppendSettingsAck,
		xnet:   func(fr *http2.Framer) error { return fr.WriteSettingsAck() },
		frames: []Frame{{Header: hdr(0, TypeSettings, FlagAck, 0)}},
	}, {
		name:   "UnknownParameterKept",
		bytes:  "000006 04 00 00000000 abcd 00000007",
		append: func(b []byte) []byte { return AppendSettings(b, Setting{0xabcd, 7}) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteSettings(http2.Setting{ID: 0xabcd, Val: 7}) },
		frames: []Frame{{Header: hdr(6, TypeSettings, 0, 0), settings: hexBytes("abcd 00000007")}},
	}})
}

func TestRFC9113_6_6_PushPromise(t *testing.T) {
	testWire(t, []wireCase{{
		name:  "Plain",
		bytes: "000005 05 04 00000001 00000002 82",
		xnet: func(fr *http2.Framer) error {
			return fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: []byte{0x82}, EndHeaders: true})
		},
		frames: []Frame{{Header: hdr(5, TypePushPromise, FlagEndHeaders, 1), PromisedID: 2, Data: []byte{0x82}}},
	}, {
		name:  "Padded",
		bytes: "000007 05 0c 00000001 01 00000002 82 00",
		xnet: func(fr *http2.Framer) error {
			return fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: []byte{0x82}, EndHeaders: true, PadLength: 1})
		},
		frames: []Frame{{Header: hdr(7, TypePushPromise, FlagEndHeaders|FlagPadded, 1), PromisedID: 2, Data: []byte{0x82}}},
	}, {
		name:   "ReservedBitOfPromisedID",
		bytes:  "000004 05 04 00000001 80000004",
		frames: []Frame{{Header: hdr(4, TypePushPromise, FlagEndHeaders, 1), PromisedID: 4}},
	}})
}

func TestRFC9113_6_7_Ping(t *testing.T) {
	data := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	testWire(t, []wireCase{{
		name:   "Request",
		bytes:  "000008 06 00 00000000 0102030405060708",
		append: func(b []byte) []byte { return AppendPing(b, false, data) },
		xnet:   func(fr *http2.Framer) error { return fr.WritePing(false, data) },
		frames: []Frame{{Header: hdr(8, TypePing, 0, 0), PingData: data}},
	}, {
		name:   "Ack",
		bytes:  "000008 06 01 00000000 0102030405060708",
		append: func(b []byte) []byte { return AppendPing(b, true, data) },
		xnet:   func(fr *http2.Framer) error { return fr.WritePing(true, data) },
		frames: []Frame{{Header: hdr(8, TypePing, FlagAck, 0), PingData: data}},
	}, {
		// RFC 9113 §4.1: flags a frame type does not define are ignored.
		name:   "UndefinedFlags",
		bytes:  "000008 06 fe 00000000 0102030405060708",
		xnet:   func(fr *http2.Framer) error { return fr.WriteRawFrame(http2.FramePing, 0xfe, 0, data[:]) },
		frames: []Frame{{Header: hdr(8, TypePing, 0xfe, 0), PingData: data}},
	}})
}

func TestRFC9113_6_8_GoAway(t *testing.T) {
	testWire(t, []wireCase{{
		name:   "DebugData",
		bytes:  "00000c 07 00 00000000 00000005 0000000b 63616c6d",
		append: func(b []byte) []byte { return AppendGoAway(b, 5, ErrCodeEnhanceYourCalm, []byte("calm")) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteGoAway(5, http2.ErrCodeEnhanceYourCalm, []byte("calm")) },
		frames: []Frame{{Header: hdr(12, TypeGoAway, 0, 0), LastStreamID: 5, ErrCode: ErrCodeEnhanceYourCalm, Data: []byte("calm")}},
	}, {
		name:   "GracefulShutdown",
		bytes:  "000008 07 00 00000000 7fffffff 00000000",
		append: func(b []byte) []byte { return AppendGoAway(b, 1<<31-1, ErrCodeNo, nil) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteGoAway(1<<31-1, http2.ErrCodeNo, nil) },
		frames: []Frame{{Header: hdr(8, TypeGoAway, 0, 0), LastStreamID: 1<<31 - 1}},
	}, {
		name:   "ReservedBitOfLastStreamID",
		bytes:  "000008 07 00 00000000 00000003 00000001",
		append: func(b []byte) []byte { return AppendGoAway(b, 1<<31|3, ErrCodeProtocol, nil) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteGoAway(1<<31|3, http2.ErrCodeProtocol, nil) },
		frames: []Frame{{Header: hdr(8, TypeGoAway, 0, 0), LastStreamID: 3, ErrCode: ErrCodeProtocol}},
	}})
}

func TestRFC9113_6_9_WindowUpdate(t *testing.T) {
	testWire(t, []wireCase{{
		name:   "Connection",
		bytes:  "000004 08 00 00000000 0000ffff",
		append: func(b []byte) []byte { return AppendWindowUpdate(b, 0, 65535) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteWindowUpdate(0, 65535) },
		frames: []Frame{{Header: hdr(4, TypeWindowUpdate, 0, 0), Increment: 65535}},
	}, {
		name:   "LargestIncrement",
		bytes:  "000004 08 00 00000003 7fffffff",
		append: func(b []byte) []byte { return AppendWindowUpdate(b, 3, 1<<31-1) },
		xnet:   func(fr *http2.Framer) error { return fr.WriteWindowUpdate(3, 1<<31-1) },
		frames: []Frame{{Header: hdr(4, TypeWindowUpdate, 0, 3), Increment: 1<<31 - 1}},
	}})
}

// RFC 9113 §4.3 and §6.10: a header block larger than the peer's
// SETTINGS_MAX_FRAME_SIZE goes out as HEADERS and CONTINUATION frames, the
// last with END_HEADERS, and END_STREAM only on HEADERS.
func TestRFC9113_6_10_Continuation(t *testing.T) {
	cont := func(fr *http2.Framer, first string, endStream bool, rest ...string) error {
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte(first), EndStream: endStream}); err != nil {
			return err
		}
		for i, s := range rest {
			if err := fr.WriteContinuation(1, i == len(rest)-1, []byte(s)); err != nil {
				return err
			}
		}
		return nil
	}
	testWire(t, []wireCase{{
		name:   "ThreeFrames",
		bytes:  "000002 01 00 00000001 6162  000002 09 00 00000001 6364  000001 09 04 00000001 65",
		append: func(b []byte) []byte { return AppendHeaders(b, 1, false, []byte("abcde"), 2) },
		xnet:   func(fr *http2.Framer) error { return cont(fr, "ab", false, "cd", "e") },
		frames: []Frame{
			{Header: hdr(2, TypeHeaders, 0, 1), Data: []byte("ab")},
			{Header: hdr(2, TypeContinuation, 0, 1), Data: []byte("cd")},
			{Header: hdr(1, TypeContinuation, FlagEndHeaders, 1), Data: []byte("e")},
		},
	}, {
		name:   "EndStreamOnHeadersOnly",
		bytes:  "000002 01 01 00000001 6162  000002 09 04 00000001 6364",
		append: func(b []byte) []byte { return AppendHeaders(b, 1, true, []byte("abcd"), 2) },
		xnet:   func(fr *http2.Framer) error { return cont(fr, "ab", true, "cd") },
		frames: []Frame{
			{Header: hdr(2, TypeHeaders, FlagEndStream, 1), Data: []byte("ab")},
			{Header: hdr(2, TypeContinuation, FlagEndHeaders, 1), Data: []byte("cd")},
		},
	}, {
		name:   "ExactlyOneFrame",
		bytes:  "000004 01 05 00000001 61626364",
		append: func(b []byte) []byte { return AppendHeaders(b, 1, true, []byte("abcd"), 4) },
		frames: []Frame{{Header: hdr(4, TypeHeaders, FlagEndStream|FlagEndHeaders, 1), Data: []byte("abcd")}},
	}})
}

// RFC 9113 §4.1: the reserved bit of the stream identifier is left unset
// when sending and ignored when receiving; §6.9 does the same for the
// window size increment.
func TestRFC9113_4_1_ReservedBit(t *testing.T) {
	testWire(t, []wireCase{{
		name:   "ClearedOnSend",
		bytes:  "000004 08 00 00000003 00000005",
		append: func(b []byte) []byte { return AppendWindowUpdate(b, 1<<31|3, 1<<31|5) },
		frames: []Frame{{Header: hdr(4, TypeWindowUpdate, 0, 3), Increment: 5}},
	}, {
		name:  "IgnoredOnReceipt",
		bytes: "000004 08 00 80000003 80000005",
		xnet: func(fr *http2.Framer) error {
			return fr.WriteRawFrame(http2.FrameWindowUpdate, 0, 1<<31|3, hexBytes("80000005"))
		},
		frames: []Frame{{Header: hdr(4, TypeWindowUpdate, 0, 3), Increment: 5}},
	}, {
		name:   "AppendHeaderMasks",
		bytes:  "000000 04 01 00000000",
		append: func(b []byte) []byte { return AppendHeader(b, 0, TypeSettings, FlagAck, 1<<31) },
		frames: []Frame{{Header: hdr(0, TypeSettings, FlagAck, 0)}},
	}})
}

// RFC 9113 §4.1, §5.5: frames of unknown type are ignored, whatever their
// stream, flags or length.
func TestRFC9113_5_5_UnknownFrameTypeIgnored(t *testing.T) {
	testWire(t, []wireCase{{
		name:   "OnStream",
		bytes:  "000003 fa 55 00000009 616263",
		xnet:   func(fr *http2.Framer) error { return fr.WriteRawFrame(0xfa, 0x55, 9, []byte("abc")) },
		frames: []Frame{{Header: hdr(3, 0xfa, 0x55, 9), Data: []byte("abc")}},
	}, {
		name:   "EmptyOnConnection",
		bytes:  "000000 0a ff 00000000",
		xnet:   func(fr *http2.Framer) error { return fr.WriteRawFrame(0x0a, 0xff, 0, nil) },
		frames: []Frame{{Header: hdr(0, 0x0a, 0xff, 0)}},
	}})
}

func TestFrameAccessors(t *testing.T) {
	f := Frame{Header: hdr(12, TypeSettings, 0, 0), settings: hexBytes("0003 00000064 ff00 00000007")}
	if n := f.NumSettings(); n != 2 {
		t.Fatalf("NumSettings %d", n)
	}
	if s := f.Setting(0); s != (Setting{SettingMaxConcurrentStreams, 100}) {
		t.Errorf("Setting(0) = %v", s)
	}
	if s := f.Setting(1); s != (Setting{0xff00, 7}) {
		t.Errorf("Setting(1) = %v", s)
	}
	for _, c := range []struct {
		h                            Header
		endStream, endHeaders, isAck bool
	}{
		{hdr(0, TypeData, FlagEndStream, 1), true, false, false},
		{hdr(0, TypeHeaders, FlagEndStream|FlagEndHeaders, 1), true, true, false},
		{hdr(0, TypeContinuation, FlagEndHeaders|FlagEndStream, 1), false, true, false},
		{hdr(0, TypePushPromise, FlagEndHeaders, 1), false, true, false},
		{hdr(0, TypeSettings, FlagAck, 0), false, false, true},
		{hdr(0, TypePing, FlagAck, 0), false, false, true},
		{hdr(0, TypeWindowUpdate, 0xff, 0), false, false, false},
	} {
		f := Frame{Header: c.h}
		if f.EndStream() != c.endStream || f.EndHeaders() != c.endHeaders || f.IsAck() != c.isAck {
			t.Errorf("%v flags 0x%x: EndStream %v EndHeaders %v IsAck %v", c.h.Type, uint8(c.h.Flags), f.EndStream(), f.EndHeaders(), f.IsAck())
		}
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{TypeWindowUpdate.String(), "WINDOW_UPDATE"},
		{Type(0xfa).String(), "UNKNOWN_FRAME_TYPE_250"},
		{ErrCodeHTTP11Required.String(), "HTTP_1_1_REQUIRED"},
		{ErrCode(0x1f).String(), "UNKNOWN_ERROR_CODE_0x1f"},
		{SettingMaxHeaderListSize.String(), "MAX_HEADER_LIST_SIZE"},
		{SettingID(0).String(), "UNKNOWN_SETTING_0"},
		{(&Frame{Header: hdr(4, TypeRSTStream, 0, 3)}).String(), "RST_STREAM stream=3 len=4 flags=0x0"},
		{(&ConnError{Code: ErrCodeProtocol, Reason: "x"}).Error(), "http2: connection error PROTOCOL_ERROR: x"},
		{(&StreamError{StreamID: 5, Code: ErrCodeCancel, Reason: "y"}).Error(), "http2: stream 5 error CANCEL: y"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
