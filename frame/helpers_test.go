package frame

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"golang.org/x/net/http2"
)

// hexBytes decodes hex written in groups separated by spaces, so that
// expected frames can be laid out field by field.
func hexBytes(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// xnetBytes returns what x/net's Framer writes for the calls in write.
func xnetBytes(t testing.TB, write func(*http2.Framer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	fr := http2.NewFramer(&buf, nil)
	fr.AllowIllegalWrites = true
	if err := write(fr); err != nil {
		t.Fatalf("x/net write: %v", err)
	}
	return buf.Bytes()
}

// describe renders every field of a frame, for comparisons.
func describe(f *Frame) string {
	g := *f
	if len(g.Data) == 0 {
		g.Data = nil
	}
	if len(g.settings) == 0 {
		g.settings = nil
	}
	return fmt.Sprintf("%+v", g)
}

// sameFrame reports whether two frames have the same fields; cheaper than
// comparing descriptions, for the fuzzers.
func sameFrame(a, b *Frame) bool {
	return a.Header == b.Header && bytes.Equal(a.Data, b.Data) && a.Priority == b.Priority &&
		a.ErrCode == b.ErrCode && a.LastStreamID == b.LastStreamID && a.PromisedID == b.PromisedID &&
		a.Increment == b.Increment && a.PingData == b.PingData && bytes.Equal(a.settings, b.settings)
}

// outcome names how a reader reacted to one frame: "ok", "conn CODE",
// "stream CODE", "EOF", or another error's text.
func outcome(err error) string {
	var ce *ConnError
	var se *StreamError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &ce):
		return "conn " + ce.Code.String()
	case errors.As(err, &se):
		return "stream " + se.Code.String()
	case err == io.EOF:
		return "EOF"
	}
	return err.Error()
}

// xnetOutcome names x/net's reaction in the same terms as outcome. x/net
// reports frames too short for their fixed fields as io.ErrUnexpectedEOF
// from inside the payload, which it has read whole: that is "rejected".
func xnetOutcome(err error, payloadRead bool) string {
	var ce http2.ConnectionError
	var se http2.StreamError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, http2.ErrFrameTooLarge):
		return "conn " + ErrCodeFrameSize.String()
	case errors.As(err, &ce):
		return "conn " + ErrCode(ce).String()
	case errors.As(err, &se):
		return "stream " + ErrCode(se.Code).String()
	case err == io.EOF:
		return "EOF"
	case err == io.ErrUnexpectedEOF && payloadRead:
		return "rejected"
	}
	return err.Error()
}

// fromXNet converts a frame read by x/net into the Frame our parser must
// produce for the same bytes.
func fromXNet(xf http2.Frame) Frame {
	h := xf.Header()
	f := Frame{Header: Header{Length: h.Length, Type: Type(h.Type), Flags: Flags(h.Flags), StreamID: h.StreamID}}
	prio := func(p http2.PriorityParam) Priority {
		return Priority{StreamDep: p.StreamDep, Exclusive: p.Exclusive, Weight: p.Weight}
	}
	switch xf := xf.(type) {
	case *http2.DataFrame:
		f.Data = xf.Data()
	case *http2.HeadersFrame:
		f.Data = xf.HeaderBlockFragment()
		f.Priority = prio(xf.Priority)
	case *http2.PriorityFrame:
		f.Priority = prio(xf.PriorityParam)
	case *http2.RSTStreamFrame:
		f.ErrCode = ErrCode(xf.ErrCode)
	case *http2.SettingsFrame:
		_ = xf.ForeachSetting(func(s http2.Setting) error {
			f.settings = append(f.settings, byte(s.ID>>8), byte(s.ID), byte(s.Val>>24), byte(s.Val>>16), byte(s.Val>>8), byte(s.Val))
			return nil
		})
	case *http2.PushPromiseFrame:
		f.PromisedID = xf.PromiseID
		f.Data = xf.HeaderBlockFragment()
	case *http2.PingFrame:
		f.PingData = xf.Data
	case *http2.GoAwayFrame:
		f.LastStreamID = xf.LastStreamID
		f.ErrCode = ErrCode(xf.ErrCode)
		f.Data = xf.DebugData()
	case *http2.WindowUpdateFrame:
		f.Increment = xf.Increment
	case *http2.ContinuationFrame:
		f.Data = xf.HeaderBlockFragment()
	case *http2.UnknownFrame:
		f.Data = xf.Payload()
	case *http2.PriorityUpdateFrame:
		// RFC 9218, unknown to us: we keep the raw payload.
		f.Data = append([]byte{byte(xf.PrioritizedStreamID >> 24), byte(xf.PrioritizedStreamID >> 16), byte(xf.PrioritizedStreamID >> 8), byte(xf.PrioritizedStreamID)}, xf.Priority...)
	}
	return f
}

// xnetReadAll reads frames from b with x/net's Framer, as readAll does with
// ours. Its input is always whole, so io.ErrUnexpectedEOF can only come from
// a payload too short for its fields.
func xnetReadAll(b []byte, maxFrameSize uint32) ([]string, string) {
	fr := http2.NewFramer(nil, bytes.NewReader(b))
	fr.SetMaxReadFrameSize(cmp.Or(maxFrameSize, MinMaxFrameSize)) // x/net's own default is 2^24-1
	var got []string
	for {
		xf, err := fr.ReadFrame()
		if err == io.EOF {
			return got, "ok"
		}
		if err != nil {
			return got, xnetOutcome(err, true)
		}
		f := fromXNet(xf)
		got = append(got, describe(&f))
	}
}

// readAll reads frames from b with our Reader until the first error other
// than a stream error, and returns the frames' descriptions and the
// outcome of the last read ("ok" for a clean end).
func readAll(t testing.TB, r io.Reader, maxFrameSize uint32) ([]string, string) {
	t.Helper()
	fr := NewReader(r)
	defer fr.Close()
	if maxFrameSize != 0 {
		fr.SetMaxFrameSize(maxFrameSize)
	}
	var got []string
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			return got, "ok"
		}
		var se *StreamError
		if errors.As(err, &se) {
			if f == nil || f.StreamID != se.StreamID {
				t.Fatalf("stream error %v without its frame (%v)", err, f)
			}
		}
		if err != nil && f == nil {
			return got, outcome(err)
		}
		got = append(got, describe(f))
		if err != nil {
			return got, outcome(err)
		}
	}
}
