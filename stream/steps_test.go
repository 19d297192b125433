package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/frame/frametest"
	"github.com/h2rpc/h2rpc/hpack"
	"golang.org/x/net/http2"
)

// env is what the steps of a misbehaving-peer test act on: the raw Peer,
// our end of the connection, values reported by handlers, and the streams
// our client opened.
type env struct {
	p       *frametest.Peer
	c       *Conn
	reports chan any
	streams map[uint32]*Stream
}

// step is one action or expectation of a misbehaving-peer test.
type step func(e *env) error

// peerCase is a misbehaving-peer test: our end is configured by cfg (and,
// for a server, serves streams with handler), the Peer announces settings
// in the handshake, then the steps run in order.
type peerCase struct {
	name     string
	cfg      *Config
	settings []http2.Setting
	handler  func(report chan<- any) Handler // server only; nil holds each stream open
	steps    []step
}

func runPeerCases(t *testing.T, server bool, cases []peerCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{reports: make(chan any, 16), streams: make(map[uint32]*Stream)}
			if server {
				h := hold
				if tc.handler != nil {
					h = tc.handler(e.reports)
				}
				e.c, e.p = rawClient(t, tc.cfg, h, tc.settings...)
			} else {
				e.c, e.p = rawServer(t, tc.cfg, tc.settings...)
			}
			for i, st := range tc.steps {
				if err := st(e); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
		})
	}
}

// hold is a handler that keeps its stream open until it ends.
func hold(s *Stream) { <-s.Done() }

// respond is a handler that answers at once with headers and trailers-only
// end of stream, without reading the request.
func respond(chan<- any) Handler {
	return func(s *Stream) {
		s.WriteHeaders(append(okResponse[:2:2], okTrailers...), true, true)
		<-s.Done()
	}
}

// reportErr is a handler that reports the error that ended its stream.
func reportErr(report chan<- any) Handler {
	return func(s *Stream) {
		<-s.Done()
		report <- s.Err()
	}
}

// readUntil reads frames until want accepts one, skipping the SETTINGS,
// PING and WINDOW_UPDATE frames an endpoint may send at any time.
func readUntil(p *frametest.Peer, what string, want func(http2.Frame) bool) (http2.Frame, error) {
	for {
		f, err := p.ReadFrame()
		switch {
		case err != nil:
			return nil, fmt.Errorf("waiting for %s: %w", what, err)
		case want(f):
			return f, nil
		case !unsolicited(f):
			return nil, fmt.Errorf("waiting for %s: got %v", what, f)
		}
	}
}

// unsolicited reports whether f is of a kind an endpoint may send at any
// time on its own.
func unsolicited(f http2.Frame) bool {
	switch f.(type) {
	case *http2.SettingsFrame, *http2.PingFrame, *http2.WindowUpdateFrame:
		return true
	}
	return false
}

func writeHeaders(id uint32, end bool, kv ...string) step {
	return func(e *env) error { return e.p.WriteHeaderBlock(id, end, kv...) }
}

func writeRequest(id uint32, end bool, extra ...string) step {
	return writeHeaders(id, end, requestKV("/test", extra...)...)
}

func writeData(id uint32, end bool, data []byte) step {
	return func(e *env) error { return e.p.WriteData(id, end, data) }
}

func writePadded(id uint32, data []byte, pad int) step {
	return func(e *env) error { return e.p.WriteDataPadded(id, false, data, make([]byte, pad)) }
}

func writeWindowUpdate(id, inc uint32) step {
	return func(e *env) error { return e.p.WriteWindowUpdate(id, inc) }
}

func writeRST(id uint32, code http2.ErrCode) step {
	return func(e *env) error { return e.p.WriteRSTStream(id, code) }
}

func writeSettings(s ...http2.Setting) step {
	return func(e *env) error { return e.p.WriteSettings(s...) }
}

func writePushPromise(id, promised uint32) step {
	return func(e *env) error {
		return e.p.WritePushPromise(http2.PushPromiseParam{
			StreamID:      id,
			PromiseID:     promised,
			BlockFragment: e.p.EncodeHeaders(requestKV("/pushed")...),
			EndHeaders:    true,
		})
	}
}

func expectGoAway(code http2.ErrCode) step {
	return func(e *env) error {
		if _, err := e.p.ExpectGoAway(code); err != nil {
			return err
		}
		return e.p.ExpectClosed()
	}
}

func expectRST(id uint32, code http2.ErrCode) step {
	return func(e *env) error { return e.p.ExpectRST(id, code) }
}

// expectAlive checks that the connection still works: a PING is answered.
func expectAlive(e *env) error {
	data := [8]byte{'a', 'l', 'i', 'v', 'e'}
	if err := e.p.WritePing(false, data); err != nil {
		return err
	}
	_, err := readUntil(e.p, "PING ACK", func(f http2.Frame) bool {
		pf, ok := f.(*http2.PingFrame)
		return ok && pf.IsAck() && pf.Data == data
	})
	return err
}

func expectSettingsAck(e *env) error {
	_, err := readUntil(e.p, "SETTINGS ACK", func(f http2.Frame) bool {
		sf, ok := f.(*http2.SettingsFrame)
		return ok && sf.IsAck()
	})
	return err
}

// expectHeaders reads a header block on id and checks its END_STREAM flag
// and, if kv is given, its fields.
func expectHeaders(id uint32, end bool, kv ...string) step {
	return func(e *env) error {
		f, err := readUntil(e.p, "HEADERS", func(f http2.Frame) bool {
			_, ok := f.(*http2.HeadersFrame)
			return ok
		})
		if err != nil {
			return err
		}
		hf := f.(*http2.HeadersFrame)
		if !hf.HeadersEnded() {
			return errors.New("header block split over CONTINUATION frames")
		}
		fields, err := e.p.DecodeHeaders(hf.HeaderBlockFragment())
		if err != nil {
			return err
		}
		if hf.StreamID != id || hf.StreamEnded() != end {
			return fmt.Errorf("HEADERS on stream %d with END_STREAM %v, want stream %d with %v", hf.StreamID, hf.StreamEnded(), id, end)
		}
		if len(kv) > 0 {
			if err := equalFields(fields, kv); err != nil {
				return err
			}
		}
		return nil
	}
}

func equalFields(fields []hpack.HeaderField, kv []string) error {
	var got []string
	for _, f := range fields {
		got = append(got, f.Name, f.Value)
	}
	if fmt.Sprint(got) != fmt.Sprint(kv) {
		return fmt.Errorf("fields %q, want %q", got, kv)
	}
	return nil
}

// expectData reads one DATA frame on id and checks its bytes and flag.
func expectData(id uint32, want string, end bool) step {
	return func(e *env) error {
		f, err := readUntil(e.p, "DATA", func(f http2.Frame) bool {
			_, ok := f.(*http2.DataFrame)
			return ok
		})
		if err != nil {
			return err
		}
		df := f.(*http2.DataFrame)
		if df.StreamID != id || string(df.Data()) != want || df.StreamEnded() != end {
			return fmt.Errorf("DATA %q on stream %d END_STREAM %v, want %q on %d, %v", df.Data(), df.StreamID, df.StreamEnded(), want, id, end)
		}
		return nil
	}
}

// expectReport waits for a handler's report and checks it.
func expectReport(check func(v any) error) step {
	return func(e *env) error {
		select {
		case v := <-e.reports:
			return check(v)
		case <-time.After(testTimeout):
			return errors.New("no report from the handler")
		}
	}
}

func isReset(code frame.ErrCode, remote bool) func(any) error {
	return func(v any) error {
		err, _ := v.(error)
		re, ok := asReset(err)
		if !ok || re.Code != code || re.Remote != remote {
			return fmt.Errorf("stream error %v, want a ResetError %v with Remote %v", err, code, remote)
		}
		return nil
	}
}

// open opens a stream on our client; the Peer reads its HEADERS.
func open(id uint32, end bool) step {
	return func(e *env) error {
		// On a pipe, NewStream's write waits for the Peer to read.
		type result struct {
			s   *Stream
			err error
		}
		opened := make(chan result, 1)
		go func() {
			s, err := e.c.NewStream(context.Background(), request("/test"), end)
			opened <- result{s, err}
		}()
		if err := expectHeaders(id, end)(e); err != nil {
			return err
		}
		r := <-opened
		if r.err != nil {
			return r.err
		}
		if r.s.ID() != id {
			return fmt.Errorf("stream ID %d, want %d", r.s.ID(), id)
		}
		e.streams[id] = r.s
		return nil
	}
}

// clientReads checks what our client reads on stream id: the body, then
// the trailers (name, value pairs).
func clientReads(id uint32, body string, trailers ...string) step {
	return func(e *env) error {
		s := e.streams[id]
		if _, err := s.Header(); err != nil {
			return err
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(s); err != nil {
			return err
		}
		if got.String() != body {
			return fmt.Errorf("body %q, want %q", got.String(), body)
		}
		return equalFields(s.Trailer(), trailers)
	}
}

// streamFails checks the error that ends our client's stream id.
func streamFails(id uint32, check func(any) error) step {
	return func(e *env) error {
		s := e.streams[id]
		select {
		case <-s.Done():
		case <-time.After(testTimeout):
			return fmt.Errorf("stream %d did not end", id)
		}
		return check(s.Err())
	}
}

// connFails checks that our end closed with a connection error code.
func connFails(code frame.ErrCode) step {
	return func(e *env) error {
		select {
		case <-e.c.Done():
		case <-time.After(testTimeout):
			return errors.New("connection still open")
		}
		var ce *ConnError
		if !errors.As(e.c.Err(), &ce) || ce.Code != code {
			return fmt.Errorf("connection error %v, want code %v", e.c.Err(), code)
		}
		return nil
	}
}

func writeGoAway(last uint32, code http2.ErrCode) step {
	return func(e *env) error { return e.p.WriteGoAway(last, code, []byte("test")) }
}

// respondOn answers stream id as a server: headers, body, trailers.
func respondOn(id uint32, body string) step {
	return func(e *env) error {
		if err := e.p.WriteHeaderBlock(id, false, ":status", "200", "content-type", "application/grpc"); err != nil {
			return err
		}
		if err := e.p.WriteData(id, false, []byte(body)); err != nil {
			return err
		}
		return e.p.WriteHeaderBlock(id, true, "grpc-status", "0")
	}
}

// newStreamFails checks that our client cannot open a stream, with want.
func newStreamFails(want error) step {
	return func(e *env) error {
		_, err := e.c.NewStream(context.Background(), request("/test"), true)
		if !errors.Is(err, want) {
			return fmt.Errorf("NewStream: %v, want %v", err, want)
		}
		return nil
	}
}

// isGoAway checks a stream error for a *GoAwayError.
func isGoAway(last uint32, unprocessed bool) func(any) error {
	return func(v any) error {
		err, _ := v.(error)
		var ge *GoAwayError
		if !errors.As(err, &ge) || ge.LastStreamID != last || ge.Unprocessed != unprocessed {
			return fmt.Errorf("stream error %v, want a GoAwayError with last ID %d, Unprocessed %v", err, last, unprocessed)
		}
		return nil
	}
}
