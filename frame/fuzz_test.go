package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"golang.org/x/net/http2"
)

// FuzzReadFrame reads the same bytes with our Reader and with x/net's
// Framer (strict reads, no header decoding, the same 16 KiB frame limit)
// and checks, frame by frame, that both accept or reject alike and agree
// on every field of what they accept. Where RFC 9113 lets the two differ,
// or x/net departs from it, fuzzDifference says so precisely.
func FuzzReadFrame(f *testing.F) {
	f.Add(sampleFrames())
	for _, v := range violations {
		f.Add(hexBytes(v.raw))
	}
	for _, s := range []string{
		"000006 00 08 00000001 03 6869 000000",                        // padded DATA
		"000009 01 2c 00000003 02 80000001 0f 82 0000",                // HEADERS, priority and padding
		"000007 05 0c 00000001 01 00000002 82 00",                     // padded PUSH_PROMISE
		"000005 05 00 00000001 00000002 82  000001 09 04 00000001 86", // PUSH_PROMISE + CONTINUATION
		"000005 10 00 00000000 00000001 75",                           // PRIORITY_UPDATE (RFC 9218)
		"000003 10 00 00000000 000000",                                // short PRIORITY_UPDATE
		"000006 01 20 00000003 00000003 0f 82  000004 08 00 00000001 00000000  000008 06 00 00000000 0000000000000000",
	} {
		f.Add(hexBytes(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { compareReaders(t, b) })
}

// headerState is which stream's header block is open, if any, by the rules
// of one implementation.
type headerState struct{ ours, xnet uint32 }

// advance follows a frame header through both sets of rules: RFC 9113
// keeps a block open after HEADERS or PUSH_PROMISE without END_HEADERS;
// x/net's Framer tracks HEADERS and CONTINUATION only.
func (s *headerState) advance(h Header) {
	switch {
	case s.ours != 0:
		if h.Flags.Has(FlagEndHeaders) {
			s.ours = 0
		}
	case (h.Type == TypeHeaders || h.Type == TypePushPromise) && !h.Flags.Has(FlagEndHeaders):
		s.ours = h.StreamID
	}
	if h.Type == TypeHeaders || h.Type == TypeContinuation {
		s.xnet = h.StreamID
		if h.Flags.Has(FlagEndHeaders) {
			s.xnet = 0
		}
	}
}

func compareReaders(t *testing.T, b []byte) {
	ours := NewReader(bytes.NewReader(b))
	defer ours.Close()
	theirs := http2.NewFramer(nil, bytes.NewReader(b))
	theirs.SetMaxReadFrameSize(MinMaxFrameSize)
	var st headerState
	for off := 0; ; {
		rest := b[off:]
		f, err := ours.ReadFrame()
		xh, xerr := theirs.ReadFrameHeader()
		var xf http2.Frame
		if xerr == nil {
			xf, xerr = theirs.ReadFrameForHeader(xh)
		}
		got, xgot := outcome(err), xnetOutcome(xerr, true)
		switch {
		case len(rest) == 0:
			if got != "EOF" || xgot != "EOF" {
				t.Fatalf("at the end: h2rpc %s, x/net %s", got, xgot)
			}
			return
		case len(rest) < HeaderLen:
			if err != io.ErrUnexpectedEOF || xerr != io.ErrUnexpectedEOF {
				t.Fatalf("in a header: h2rpc %v, x/net %v", err, xerr)
			}
			return
		}
		h := ParseHeader(rest)
		if h.Length > MinMaxFrameSize {
			if got != connFrameSize || xgot != connFrameSize {
				t.Fatalf("frame of %d bytes: h2rpc %s, x/net %s", h.Length, got, xgot)
			}
			return
		}
		if st.ours != st.xnet {
			// The two disagree on whether a header block is open (a
			// PUSH_PROMISE without END_HEADERS came before): from here
			// on they read different protocols.
			return
		}
		open := st.ours
		st.advance(h)
		if len(rest) < HeaderLen+int(h.Length) {
			// Truncated payload. x/net checks the order of frames from the
			// header alone, before reading the payload; we read it first.
			// x/net's io.ReadFull says EOF when no byte of it arrived.
			outOfOrder := open != 0 && (h.Type != TypeContinuation || h.StreamID != open) || open == 0 && h.Type == TypeContinuation
			if err != io.ErrUnexpectedEOF || !(xerr == io.ErrUnexpectedEOF || xerr == io.EOF || outOfOrder && xgot == connProtocol) {
				t.Fatalf("truncated %v: h2rpc %v, x/net %v", h.Type, err, xerr)
			}
			return
		}
		payload := rest[HeaderLen : HeaderLen+int(h.Length)]
		off += HeaderLen + int(h.Length)
		if got == xgot {
			if got == accepted {
				want := fromXNet(xf)
				if h.Type == 0x10 {
					// x/net parses PRIORITY_UPDATE (RFC 9218), which we
					// leave unparsed as an unknown type.
					want.Data = f.Data
				}
				if !sameFrame(f, &want) {
					t.Fatalf("fields differ:\nh2rpc %s\nx/net %s", describe(f), describe(&want))
				}
			}
		} else if why := fuzzDifference(h, payload, f, got, xgot); why == "" {
			t.Fatalf("%v stream %d flags 0x%x payload % x: h2rpc %s, x/net %s", h.Type, h.StreamID, uint8(h.Flags), payload, got, xgot)
		}
		if !continues(got) || !continues(xgot) {
			return
		}
	}
}

// continues reports whether a reader goes on after this outcome.
func continues(o string) bool { return o == accepted || o == streamProtocol || o == streamFrameSize }

// fuzzDifference returns why our Reader and x/net's Framer may react
// differently to a whole frame, or "" if they must not. The frame is
// the one our Reader returned (nil unless accepted or a stream error).
func fuzzDifference(h Header, payload []byte, f *Frame, ours, xnet string) string {
	prioLen := 0
	if h.Flags.Has(FlagPriority) {
		prioLen = 5
	}
	padLen, padded := 0, h.Flags.Has(FlagPadded) && len(payload) > 0
	if padded {
		padLen = int(payload[0])
	}
	switch {
	case h.Type == TypePriority && h.StreamID != 0 && len(payload) != 5 &&
		ours == streamFrameSize && xnet == connFrameSize:
		return "RFC 9113 §6.3: a PRIORITY of the wrong length is a stream error; x/net ends the connection"

	case (h.Type == TypePriority || h.Type == TypeHeaders) && f != nil && f.Priority.StreamDep == h.StreamID &&
		ours == streamProtocol && xnet == accepted:
		return "RFC 9113 §5.3.1: self-dependency; x/net's Framer leaves it to its server"

	case h.Type == TypeHeaders && h.StreamID != 0 && padded && len(payload) >= 1+prioLen && padLen > len(payload)-1-prioLen &&
		ours == connProtocol && xnet == streamProtocol:
		return "RFC 9113 §6.2: padding too large; we end the connection, x/net resets the stream"

	case h.Type == TypeData || h.Type == TypeHeaders || h.Type == TypePushPromise:
		fixed := map[Type]int{TypeData: 0, TypeHeaders: prioLen, TypePushPromise: 4}[h.Type]
		need := fixed
		if h.Flags.Has(FlagPadded) {
			need++
		}
		if h.StreamID != 0 && len(payload) < need && ours == connFrameSize && xnet == rejected {
			return "RFC 9113 §4.2: too short for its fields; x/net's error has no code"
		}

	case h.Type == TypeSettings && h.StreamID == 0 && !h.Flags.Has(FlagAck) && len(payload)%6 == 0:
		s := Frame{settings: payload}
		var first error
		firstIWS := -1
		for i := range s.NumSettings() {
			p := s.Setting(i)
			if first == nil {
				first = p.Valid()
			}
			if p.ID == SettingInitialWindowSize && firstIWS < 0 {
				firstIWS = int(min(p.Val, MaxWindowSize+1))
			}
		}
		xwant := accepted
		if firstIWS > MaxWindowSize {
			xwant = connFlowControl
		}
		if first != nil && ours == outcome(first) && xnet == xwant {
			return "RFC 9113 §6.5.2: x/net's Framer checks only the first INITIAL_WINDOW_SIZE; its server the rest"
		}

	case h.Type == 0x10 && ours == accepted && (xnet == connProtocol || xnet == connFrameSize):
		return "PRIORITY_UPDATE (RFC 9218) is an unknown type to us, ignored by RFC 9113 §5.5; x/net checks it"
	}
	return ""
}

// FuzzAppendParse builds a valid frame of every type from the fuzzer's
// values with our Append functions, checks the bytes against x/net's
// Framer writing the same frame, and reads them back.
func FuzzAppendParse(f *testing.F) {
	for kind := range byte(9) {
		f.Add(kind, uint32(kind), uint32(0x80000000|uint32(kind)*77), uint32(kind)*1000, kind%2 == 0, []byte("\x00\x04\x00\x01\x00\x00hello, world"))
	}
	f.Fuzz(func(t *testing.T, kind byte, stream, a, b uint32, flag bool, data []byte) {
		const mask = 1<<31 - 1
		sid := stream & mask
		if sid == 0 {
			sid = 1
		}
		var ours []byte
		var want []Frame
		var xnet func(*http2.Framer) error
		switch kind % 9 {
		case 0:
			ours = AppendData(nil, sid, flag, data)
			want = []Frame{{Header: hdr(uint32(len(data)), TypeData, flagIf(flag, FlagEndStream), sid), Data: data}}
			xnet = func(fr *http2.Framer) error { return fr.WriteData(sid, flag, data) }
		case 1:
			max := 1 + a%64
			ours = AppendHeaders(nil, sid, flag, data, max)
			want, xnet = headerFrames(sid, flag, data, int(max))
		case 2:
			p := Priority{StreamDep: a & mask, Exclusive: flag, Weight: byte(b)}
			if p.StreamDep == sid {
				p.StreamDep = 0
			}
			ours = AppendPriority(nil, sid, p)
			want = []Frame{{Header: hdr(5, TypePriority, 0, sid), Priority: p}}
			xnet = func(fr *http2.Framer) error {
				return fr.WritePriority(sid, http2.PriorityParam{StreamDep: p.StreamDep, Exclusive: p.Exclusive, Weight: p.Weight})
			}
		case 3:
			ours = AppendRSTStream(nil, sid, ErrCode(a))
			want = []Frame{{Header: hdr(4, TypeRSTStream, 0, sid), ErrCode: ErrCode(a)}}
			xnet = func(fr *http2.Framer) error { return fr.WriteRSTStream(sid, http2.ErrCode(a)) }
		case 4:
			if flag {
				ours = AppendSettingsAck(nil)
				want = []Frame{{Header: hdr(0, TypeSettings, FlagAck, 0)}}
				xnet = func(fr *http2.Framer) error { return fr.WriteSettingsAck() }
				break
			}
			var params []Setting
			var xparams []http2.Setting
			var raw []byte
			for p := data; len(p) >= 6; p = p[6:] {
				s := Setting{SettingID(binary.BigEndian.Uint16(p)), binary.BigEndian.Uint32(p[2:])}
				if s.Valid() == nil {
					params = append(params, s)
					xparams = append(xparams, http2.Setting{ID: http2.SettingID(s.ID), Val: s.Val})
					raw = append(raw, p[:6]...)
				}
			}
			ours = AppendSettings(nil, params...)
			want = []Frame{{Header: hdr(uint32(len(raw)), TypeSettings, 0, 0), settings: raw}}
			xnet = func(fr *http2.Framer) error { return fr.WriteSettings(xparams...) }
		case 5:
			var d [8]byte
			binary.BigEndian.PutUint32(d[:], a)
			binary.BigEndian.PutUint32(d[4:], b)
			ours = AppendPing(nil, flag, d)
			want = []Frame{{Header: hdr(8, TypePing, flagIf(flag, FlagAck), 0), PingData: d}}
			xnet = func(fr *http2.Framer) error { return fr.WritePing(flag, d) }
		case 6:
			ours = AppendGoAway(nil, a, ErrCode(b), data)
			want = []Frame{{Header: hdr(uint32(8+len(data)), TypeGoAway, 0, 0), LastStreamID: a & mask, ErrCode: ErrCode(b), Data: data}}
			xnet = func(fr *http2.Framer) error { return fr.WriteGoAway(a, http2.ErrCode(b), data) }
		case 7:
			inc := max(a&mask, 1)
			ws := stream & mask // the connection, stream 0, too
			ours = AppendWindowUpdate(nil, ws, inc)
			want = []Frame{{Header: hdr(4, TypeWindowUpdate, 0, ws), Increment: inc}}
			xnet = func(fr *http2.Framer) error { return fr.WriteWindowUpdate(ws, inc) }
		case 8:
			typ := Type(10 + a%246)
			ours = append(AppendHeader(nil, uint32(len(data)), typ, Flags(b), sid), data...)
			want = []Frame{{Header: hdr(uint32(len(data)), typ, Flags(b), sid), Data: data}}
			xnet = func(fr *http2.Framer) error { return fr.WriteRawFrame(http2.FrameType(typ), http2.Flags(b), sid, data) }
		}
		if x := xnetBytes(t, xnet); !bytes.Equal(ours, x) {
			t.Fatalf("bytes differ:\nh2rpc % x\nx/net % x", ours, x)
		}
		r := NewReader(bytes.NewReader(ours))
		r.SetMaxFrameSize(MaxMaxFrameSize)
		for i := range want {
			f, err := r.ReadFrame()
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if !sameFrame(f, &want[i]) {
				t.Fatalf("frame %d:\n got %s\nwant %s", i, describe(f), describe(&want[i]))
			}
		}
		if _, err := r.ReadFrame(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the frames: %v", err)
		}
	})
}

func flagIf(cond bool, f Flags) Flags {
	if cond {
		return f
	}
	return 0
}

// headerFrames returns the frames a header block must be split into, and
// how x/net writes them.
func headerFrames(sid uint32, endStream bool, block []byte, max int) ([]Frame, func(*http2.Framer) error) {
	var chunks [][]byte
	for len(block) > max {
		chunks = append(chunks, block[:max])
		block = block[max:]
	}
	chunks = append(chunks, block)
	var frames []Frame
	for i, c := range chunks {
		typ, fl := TypeContinuation, Flags(0)
		if i == 0 {
			typ, fl = TypeHeaders, flagIf(endStream, FlagEndStream)
		}
		if i == len(chunks)-1 {
			fl |= FlagEndHeaders
		}
		frames = append(frames, Frame{Header: hdr(uint32(len(c)), typ, fl, sid), Data: c})
	}
	return frames, func(fr *http2.Framer) error {
		for i, c := range chunks {
			last := i == len(chunks)-1
			var err error
			if i == 0 {
				err = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, BlockFragment: c, EndStream: endStream, EndHeaders: last})
			} else {
				err = fr.WriteContinuation(sid, last, c)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
}
