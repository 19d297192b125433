package frame

import (
	"bytes"
	"testing"
)

// Outcomes of reading a frame, as outcome and xnetOutcome name them.
const (
	accepted        = "ok"
	connProtocol    = "conn PROTOCOL_ERROR"
	connFrameSize   = "conn FRAME_SIZE_ERROR"
	connFlowControl = "conn FLOW_CONTROL_ERROR"
	streamProtocol  = "stream PROTOCOL_ERROR"
	streamFrameSize = "stream FRAME_SIZE_ERROR"
	rejected        = "rejected" // x/net: an untyped error for a short payload
)

// checkOutcome reads raw (hex) with our Reader and with x/net's Framer, at
// the default SETTINGS_MAX_FRAME_SIZE, and checks how each ends: want for
// ours, xnet for x/net's ("" when it must be the same as ours).
func checkOutcome(t *testing.T, raw, want, xnet string) {
	t.Helper()
	b := hexBytes(raw)
	if _, got := readAll(t, bytes.NewReader(b), 0); got != want {
		t.Errorf("h2rpc: %s, want %s", got, want)
	}
	if xnet == "" {
		xnet = want
	}
	if _, got := xnetReadAll(b, 0); got != xnet {
		t.Errorf("x/net: %s, want %s", got, xnet)
	}
}

// violations are the rules of RFC 9113 that Parse and Reader enforce, one
// frame (or run of frames) each, named after the section that states them,
// with how our Reader and x/net's Framer end on them.
var violations = []struct {
	name, raw string
	want      string // ours
	xnet      string // x/net's, when it differs from ours
}{
	{name: "4_2_FrameTooLarge", raw: "004001 00 00 00000001", want: connFrameSize},
	{name: "4_2_FrameTooLargeUnknownType", raw: "004001 fa 00 00000001", want: connFrameSize},
	{name: "6_1_DataStreamZero", raw: "000001 00 00 00000000 78", want: connProtocol},
	{name: "6_1_PaddingExceedsPayload", raw: "000005 00 08 00000001 05 61626364", want: connProtocol},
	// A pad length one less than the payload leaves no data: allowed.
	{name: "6_1_PaddingFillsPayload", raw: "000005 00 08 00000001 04 00000000", want: accepted},
	{name: "6_1_PaddedEmptyPayload", raw: "000000 00 08 00000001", want: connFrameSize, xnet: rejected},
	{name: "6_2_HeadersStreamZero", raw: "000001 01 04 00000000 82", want: connProtocol},
	// RFC 9113 §6.2 says PROTOCOL_ERROR without saying of what scope; we
	// end the connection, x/net only resets the stream.
	{name: "6_2_HeadersPaddingExceedsPayload", raw: "000003 01 0c 00000001 03 8286", want: connProtocol, xnet: streamProtocol},
	// Pad Length 4 fits after the Pad Length byte but not after the five
	// bytes of priority fields: the padding is at fault, not the length.
	{name: "6_2_HeadersPaddingOverlapsPriority", raw: "000006 01 2c 00000001 04 00000000 0f", want: connProtocol, xnet: streamProtocol},
	{name: "6_2_HeadersPriorityTooShort", raw: "000004 01 24 00000001 00000000", want: connFrameSize, xnet: rejected},
	// x/net leaves this check to its server.
	{name: "5_3_1_HeadersSelfDependency", raw: "000006 01 24 00000003 00000003 0f 82", want: streamProtocol, xnet: accepted},
	{name: "6_3_PriorityStreamZero", raw: "000005 02 00 00000000 00000001 0f", want: connProtocol},
	// §6.3 makes this a stream error; x/net makes it a connection error.
	{name: "6_3_PriorityLength", raw: "000004 02 00 00000001 00000003", want: streamFrameSize, xnet: connFrameSize},
	{name: "5_3_1_PrioritySelfDependency", raw: "000005 02 00 00000003 80000003 0f", want: streamProtocol, xnet: accepted},
	{name: "6_4_RSTStreamStreamZero", raw: "000004 03 00 00000000 00000008", want: connProtocol},
	{name: "6_4_RSTStreamLength", raw: "000003 03 00 00000001 000008", want: connFrameSize},
	{name: "6_5_SettingsAckWithPayload", raw: "000006 04 01 00000000 0003 00000064", want: connFrameSize},
	// Two faults: both report the first one x/net checks.
	{name: "6_5_SettingsAckWithPayloadOnStream", raw: "000006 04 01 00000001 0003 00000064", want: connFrameSize},
	{name: "6_5_SettingsOnStream", raw: "000000 04 00 00000001", want: connProtocol},
	{name: "6_5_SettingsLengthNotMultipleOf6", raw: "000005 04 00 00000000 0003 000000", want: connFrameSize},
	// x/net's Framer checks only INITIAL_WINDOW_SIZE; its server the rest.
	{name: "6_5_2_SettingsEnablePushInvalid", raw: "000006 04 00 00000000 0002 00000002", want: connProtocol, xnet: accepted},
	{name: "6_5_2_SettingsInitialWindowSizeTooLarge", raw: "000006 04 00 00000000 0004 80000000", want: connFlowControl},
	// x/net looks only at the first INITIAL_WINDOW_SIZE of a frame; the
	// last one is the one in force (§6.5.3: processed in order).
	{name: "6_5_2_SettingsInitialWindowSizeTooLargeRepeated", raw: "00000c 04 00 00000000 0004 00010000 0004 80000000", want: connFlowControl, xnet: accepted},
	{name: "6_5_2_SettingsMaxFrameSizeTooSmall", raw: "000006 04 00 00000000 0005 00003fff", want: connProtocol, xnet: accepted},
	{name: "6_5_2_SettingsMaxFrameSizeTooLarge", raw: "000006 04 00 00000000 0005 01000000", want: connProtocol, xnet: accepted},
	{name: "6_5_2_SettingsBoundaryValuesAccepted", raw: "00001e 04 00 00000000 0002 00000000 0002 00000001 0004 7fffffff 0005 00004000 0005 00ffffff", want: accepted},
	{name: "6_5_2_SettingsUnknownIgnored", raw: "00000c 04 00 00000000 00ff ffffffff 0000 00000000", want: accepted},
	{name: "6_6_PushPromiseStreamZero", raw: "000004 05 04 00000000 00000002", want: connProtocol},
	{name: "6_6_PushPromiseTooShort", raw: "000003 05 04 00000001 000002", want: connFrameSize, xnet: rejected},
	{name: "6_6_PushPromisePaddingOverlapsPromisedID", raw: "000005 05 0c 00000001 02 00000002", want: connProtocol},
	{name: "6_7_PingLength", raw: "000007 06 00 00000000 01020304050607", want: connFrameSize},
	{name: "6_7_PingOnStream", raw: "000008 06 00 00000001 0102030405060708", want: connProtocol},
	{name: "6_8_GoAwayOnStream", raw: "000008 07 00 00000001 00000000 00000000", want: connProtocol},
	{name: "6_8_GoAwayTooShort", raw: "000007 07 00 00000000 00000000 000000", want: connFrameSize},
	{name: "6_9_WindowUpdateZeroIncrement", raw: "000004 08 00 00000001 00000000", want: streamProtocol},
	// The reserved bit does not count: this increment is 0.
	{name: "6_9_WindowUpdateZeroIncrementReservedBit", raw: "000004 08 00 00000001 80000000", want: streamProtocol},
	{name: "6_9_WindowUpdateZeroIncrementConnection", raw: "000004 08 00 00000000 00000000", want: connProtocol},
	{name: "6_9_WindowUpdateLength", raw: "000003 08 00 00000001 000001", want: connFrameSize},
	{name: "6_10_ContinuationSequence", raw: "000001 01 01 00000001 82  000000 09 00 00000001  000001 09 04 00000001 86  000008 06 00 00000000 0000000000000000", want: accepted},
	{name: "6_10_ContinuationInterleaved", raw: "000001 01 00 00000001 82  000001 00 00 00000001 78", want: connProtocol},
	{name: "6_10_ContinuationInterleavedUnknownType", raw: "000001 01 00 00000001 82  000000 fa 00 00000000", want: connProtocol},
	{name: "6_10_ContinuationWrongStream", raw: "000001 01 00 00000001 82  000001 09 04 00000003 86", want: connProtocol},
	{name: "6_10_ContinuationWithoutHeaders", raw: "000001 09 04 00000001 82", want: connProtocol},
	{name: "6_10_ContinuationAfterEndHeaders", raw: "000001 01 04 00000001 82  000001 09 04 00000001 86", want: connProtocol},
}

func TestRFC9113(t *testing.T) {
	for _, v := range violations {
		t.Run(v.name, func(t *testing.T) { checkOutcome(t, v.raw, v.want, v.xnet) })
	}
}

func TestRFC9113_4_2_LargerMaxFrameSize(t *testing.T) {
	b := append(AppendHeader(nil, MinMaxFrameSize+1, TypeData, 0, 1), make([]byte, MinMaxFrameSize+1)...)
	if _, got := readAll(t, bytes.NewReader(b), MinMaxFrameSize+1); got != accepted {
		t.Fatalf("a frame of SETTINGS_MAX_FRAME_SIZE bytes: %s", got)
	}
	if _, got := readAll(t, bytes.NewReader(b), MinMaxFrameSize); got != connFrameSize {
		t.Fatalf("a frame one byte over SETTINGS_MAX_FRAME_SIZE: %s", got)
	}
}

func TestRFC9113_6_10_ContinuationAfterPushPromise(t *testing.T) {
	// §6.6: a PUSH_PROMISE without END_HEADERS is followed by CONTINUATION
	// like HEADERS is. x/net's Framer tracks only HEADERS, so it accepts
	// the DATA and would reject a proper CONTINUATION.
	checkOutcome(t, "000005 05 00 00000001 00000002 82  000001 00 00 00000001 78", connProtocol, accepted)
	checkOutcome(t, "000005 05 00 00000001 00000002 82  000001 09 04 00000001 86", accepted, connProtocol)
}

func TestRFC9113_6_10_ContinuationStreamZero(t *testing.T) {
	var f Frame
	err := Parse(hdr(0, TypeContinuation, FlagEndHeaders, 0), nil, &f)
	if got := outcome(err); got != connProtocol {
		t.Fatalf("%s, want %s", got, connProtocol)
	}
}

// A header block stays open across a stream error in its HEADERS frame:
// the stream layer must still decode it to keep HPACK state in sync.
func TestStreamErrorKeepsHeaderBlockOpen(t *testing.T) {
	b := hexBytes("000006 01 20 00000003 00000003 0f 82  000001 09 04 00000003 86  000008 06 00 00000000 0000000000000000")
	r := NewReader(bytes.NewReader(b))
	f, err := r.ReadFrame()
	if outcome(err) != streamProtocol || f == nil || f.Type != TypeHeaders || !bytes.Equal(f.Data, []byte{0x82}) {
		t.Fatalf("HEADERS: %v, %v", f, err)
	}
	for _, want := range []Type{TypeContinuation, TypePing} {
		f, err := r.ReadFrame()
		if err != nil || f.Type != want {
			t.Fatalf("got %v, %v; want %v", f, err, want)
		}
	}
}

func TestSettingsApplyAndDiff(t *testing.T) {
	s := DefaultSettings()
	if d := s.Diff(nil); len(d) != 0 {
		t.Fatalf("defaults differ from themselves: %v", d)
	}
	want := []Setting{
		{SettingHeaderTableSize, 0}, {SettingEnablePush, 0}, {SettingMaxConcurrentStreams, 100},
		{SettingInitialWindowSize, 1 << 20}, {SettingMaxFrameSize, 1 << 20}, {SettingMaxHeaderListSize, 8 << 10},
	}
	for _, p := range want {
		if err := p.Valid(); err != nil {
			t.Fatal(err)
		}
		s.Apply(p)
	}
	s.Apply(Setting{0xff, 1}) // unknown: ignored
	got := s.Diff(nil)
	if len(got) != len(want) {
		t.Fatalf("Diff %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Diff %v, want %v", got, want)
		}
	}
	s.Apply(Setting{SettingEnablePush, 1})
	if !s.EnablePush {
		t.Fatal("ENABLE_PUSH 1 not applied")
	}
}
