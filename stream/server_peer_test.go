package stream

import (
	"bytes"
	"context"
	"fmt"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/frame/frametest"
	"golang.org/x/net/http2"
)

const maxWindow = 1<<31 - 1

// TestServerMisbehavingClient drives our server with a raw client that
// breaks the rules of RFC 9113, and checks the exact frame and error code
// of each answer.
func TestServerMisbehavingClient(t *testing.T) {
	small := func(streamWin, connWin uint32) *Config {
		return &Config{InitialWindowSize: streamWin, InitialConnWindowSize: connWin, DisableBDP: true}
	}
	frame16k := make([]byte, 16384)
	runPeerCases(t, true, []peerCase{
		// §5.1: frames on an idle stream.
		{name: "5.1/idle/DATA", steps: []step{writeData(1, false, []byte("x")), expectGoAway(http2.ErrCodeProtocol)}},
		{name: "5.1/idle/WINDOW_UPDATE", steps: []step{writeWindowUpdate(1, 1), expectGoAway(http2.ErrCodeProtocol)}},
		{name: "5.1/idle/RST_STREAM", steps: []step{writeRST(1, http2.ErrCodeCancel), expectGoAway(http2.ErrCodeProtocol)}},
		// §5.1: half-closed (remote) after the request's END_STREAM.
		{name: "5.1/half-closed-remote/DATA", steps: []step{
			writeRequest(1, true), writeData(1, false, []byte("x")), expectRST(1, http2.ErrCodeStreamClosed), expectAlive}},
		{name: "5.1/half-closed-remote/HEADERS", steps: []step{
			writeRequest(1, true), writeHeaders(1, true, "x-trailer", "v"), expectRST(1, http2.ErrCodeStreamClosed), expectAlive}},
		{name: "5.1/half-closed-remote/WINDOW_UPDATE", steps: []step{
			writeRequest(1, true), writeWindowUpdate(1, 100), expectAlive}},
		{name: "5.1/half-closed-remote/RST_STREAM", handler: reportErr, steps: []step{
			writeRequest(1, true), writeRST(1, http2.ErrCodeCancel),
			expectReport(isReset(frame.ErrCodeCancel, true)), expectAlive}},
		// §5.1: closed after the client reset the stream: STREAM_CLOSED
		// stream errors.
		{name: "5.1/closed-after-RST_STREAM/DATA", steps: []step{
			writeRequest(1, false), writeRST(1, http2.ErrCodeCancel), writeData(1, false, []byte("x")),
			expectRST(1, http2.ErrCodeStreamClosed), expectAlive}},
		{name: "5.1/closed-after-RST_STREAM/HEADERS", steps: []step{
			writeRequest(1, false), writeRST(1, http2.ErrCodeCancel), writeHeaders(1, true, "x-trailer", "v"),
			expectRST(1, http2.ErrCodeStreamClosed), expectAlive}},
		// §5.1: frames in flight on a stream we reset are ignored: no
		// RST_STREAM answers them and the connection goes on.
		{name: "5.1/closed-after-our-RST_STREAM/DATA-ignored", cfg: &Config{MaxConcurrentStreams: 1}, steps: []step{
			writeRequest(1, false), writeRequest(3, false), expectRST(3, http2.ErrCodeRefusedStream),
			writeData(3, false, []byte("in flight")), expectAlive}},
		{name: "5.1/closed-after-our-RST_STREAM/HEADERS-ignored", cfg: &Config{MaxConcurrentStreams: 1}, steps: []step{
			writeRequest(1, false), writeRequest(3, false), expectRST(3, http2.ErrCodeRefusedStream),
			writeHeaders(3, true, "x-trailer", "v"), expectAlive}},
		// §5.1: closed after END_STREAM both ways: frames other than
		// WINDOW_UPDATE, RST_STREAM and PRIORITY are a connection error
		// STREAM_CLOSED.
		{name: "5.1/closed-after-END_STREAM/DATA", handler: respond, steps: []step{
			writeRequest(1, true), expectHeaders(1, true), writeData(1, false, []byte("x")),
			expectGoAway(http2.ErrCodeStreamClosed)}},
		{name: "5.1/closed-after-END_STREAM/HEADERS", handler: respond, steps: []step{
			writeRequest(1, true), expectHeaders(1, true), writeHeaders(1, true, "x-trailer", "v"),
			expectGoAway(http2.ErrCodeStreamClosed)}},
		{name: "5.1/closed-after-END_STREAM/WINDOW_UPDATE", handler: respond, steps: []step{
			writeRequest(1, true), expectHeaders(1, true), writeWindowUpdate(1, 1), writeRST(1, http2.ErrCodeCancel),
			expectAlive}},
		// §5.1.1: stream identifiers.
		{name: "5.1.1/even-stream-ID", steps: []step{writeRequest(2, true), expectGoAway(http2.ErrCodeProtocol)}},
		{name: "5.1.1/decreasing-stream-ID", steps: []step{
			writeRequest(5, true), writeRequest(3, true), expectGoAway(http2.ErrCodeProtocol)}},
		// §5.1.2: concurrency.
		{name: "5.1.2/over-MAX_CONCURRENT_STREAMS", cfg: &Config{MaxConcurrentStreams: 1}, steps: []step{
			writeRequest(1, false), writeRequest(3, false), expectRST(3, http2.ErrCodeRefusedStream), expectAlive}},
		// §6.9: flow control of what the client sends.
		{name: "6.9/DATA-beyond-connection-window", cfg: small(1<<20, 0), steps: []step{
			writeRequest(1, false),
			writeData(1, false, frame16k), writeData(1, false, frame16k), writeData(1, false, frame16k),
			writeData(1, false, frame16k), writeData(1, false, frame16k),
			expectGoAway(http2.ErrCodeFlowControl)}},
		{name: "6.9/DATA-beyond-stream-window", cfg: small(16384, 1<<20), steps: []step{
			writeRequest(1, false), writeData(1, false, frame16k), writeData(1, false, []byte("x")),
			expectRST(1, http2.ErrCodeFlowControl), expectAlive}},
		{name: "6.9.1/WINDOW_UPDATE-overflow/connection", steps: []step{
			writeWindowUpdate(0, maxWindow), expectGoAway(http2.ErrCodeFlowControl)}},
		{name: "6.9.1/WINDOW_UPDATE-overflow/stream", steps: []step{
			writeRequest(1, false), writeWindowUpdate(1, maxWindow), expectRST(1, http2.ErrCodeFlowControl), expectAlive}},
		{name: "6.9.2/SETTINGS_INITIAL_WINDOW_SIZE-overflow", steps: []step{
			writeRequest(1, false), writeWindowUpdate(1, maxWindow-65535),
			writeSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65536}),
			expectGoAway(http2.ErrCodeFlowControl)}},
		// §6.9.2: a new initial window applies to open streams, and may
		// make a window negative.
		{name: "6.9.2/SETTINGS_INITIAL_WINDOW_SIZE-applies-to-open-streams",
			settings: []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 0}},
			handler:  respondWith("0123456789"),
			steps: []step{
				writeRequest(1, true), expectHeaders(1, false),
				writeSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 4}), expectData(1, "0123", false),
				writeSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10}), expectData(1, "456789", true)}},
		{name: "6.9.2/negative-window",
			settings: []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 4}},
			handler:  respondWith("0123456789"),
			steps: []step{
				writeRequest(1, true), expectHeaders(1, false), expectData(1, "0123", false),
				writeSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}), // window -4
				writeWindowUpdate(1, 6), expectData(1, "45", false),
				writeWindowUpdate(1, 10), expectData(1, "6789", true)}},
		// §6.9.1 with §6.1: padding counts against the windows and is
		// returned at once, since no one reads it. More padding than the
		// stream window holds goes through without a flow-control error.
		{name: "6.1/padding-returned-to-window", cfg: small(16384, 16384), handler: readAll, steps: []step{
			writeRequest(1, false), padFlood(1, 200),
			writeData(1, true, nil), expectReport(func(v any) error {
				if v != 200 {
					return fmt.Errorf("handler read %v bytes, want 200", v)
				}
				return nil
			}), expectHeaders(1, true), expectAlive}},
		// §6.5: SETTINGS are acknowledged.
		{name: "6.5/SETTINGS-ACK", steps: []step{
			writeSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 20}), expectSettingsAck, expectAlive}},
		// §8.4: a client cannot push.
		{name: "8.4/PUSH_PROMISE", steps: []step{
			writeRequest(1, false), writePushPromise(1, 2), expectGoAway(http2.ErrCodeProtocol)}},
		// §8.1: trailers end the request; a second HEADERS must end it.
		{name: "8.1/trailers", handler: reportTrailers, steps: []step{
			writeRequest(1, false), writeData(1, false, []byte("abc")), writeHeaders(1, true, "x-checksum", "42"),
			expectReport(func(v any) error {
				if v != "abc x-checksum=42" {
					return fmt.Errorf("handler saw %v", v)
				}
				return nil
			}), expectHeaders(1, true, ":status", "200", "content-type", "application/grpc", "grpc-status", "0")}},
		{name: "8.1/second-HEADERS-without-END_STREAM", steps: []step{
			writeRequest(1, false), writeHeaders(1, false, "x-trailer", "v"), expectRST(1, http2.ErrCodeProtocol), expectAlive}},
		// §8.1.1: content-length must match the body.
		{name: "8.1.1/body-shorter-than-content-length", steps: []step{
			writeRequest(1, false, "content-length", "5"), writeData(1, true, []byte("abc")),
			expectRST(1, http2.ErrCodeProtocol), expectAlive}},
		{name: "8.1.1/body-longer-than-content-length", steps: []step{
			writeRequest(1, false, "content-length", "2"), writeData(1, false, []byte("abc")),
			expectRST(1, http2.ErrCodeProtocol), expectAlive}},
		{name: "8.1.1/trailers-before-content-length", steps: []step{
			writeRequest(1, false, "content-length", "5"), writeData(1, false, []byte("abc")),
			writeHeaders(1, true, "x-trailer", "v"), expectRST(1, http2.ErrCodeProtocol), expectAlive}},
		{name: "8.1.1/content-length-without-body", steps: []step{
			writeRequest(1, true, "content-length", "5"), expectRST(1, http2.ErrCodeProtocol), expectAlive}},
		// §10.5.1: a header list over our limit gets 431, and the
		// connection stays usable (HPACK state kept).
		{name: "10.5.1/header-list-too-large", cfg: &Config{MaxHeaderListSize: 1024}, steps: []step{
			writeRequest(1, true, manyFields(30)...),
			expectHeaders(1, true, ":status", "431"),
			writeRequest(3, true), expectAlive}},
	})
}

// manyFields returns n name, value pairs of 87 bytes each as RFC 9113
// §6.5.2 counts them.
func manyFields(n int) []string {
	var kv []string
	for i := range n {
		kv = append(kv, fmt.Sprintf("x-field-%02d", i), strings.Repeat("v", 45))
	}
	return kv
}

// respondWith is a handler that answers with headers, then body with
// END_STREAM.
func respondWith(body string) func(chan<- any) Handler {
	return func(chan<- any) Handler {
		return func(s *Stream) {
			if s.WriteHeaders(okResponse, false, true) == nil {
				s.WriteData([]byte(body), true, true)
			}
			<-s.Done()
		}
	}
}

// readAll is a handler that reports how many bytes the request body had.
func readAll(report chan<- any) Handler {
	return func(s *Stream) {
		n, err := io.Copy(io.Discard, s)
		if err != nil {
			report <- err
			return
		}
		report <- int(n)
		s.WriteHeaders(append(okResponse[:2:2], okTrailers...), true, true)
	}
}

// reportTrailers is a handler that reports the body and trailers it read,
// then answers trailers-only.
func reportTrailers(report chan<- any) Handler {
	return func(s *Stream) {
		body, err := io.ReadAll(s)
		if err != nil {
			report <- err
			return
		}
		tr := s.Trailer()
		if len(tr) != 1 {
			report <- fmt.Errorf("trailers %v", tr)
			return
		}
		report <- fmt.Sprintf("%s %s=%s", body, tr[0].Name, tr[0].Value)
		s.WriteHeaders(append(okResponse[:2:2], okTrailers...), true, true)
	}
}

// padFlood sends n DATA frames of one byte and 255 bytes of padding each,
// far more than the windows allow unless padding is returned.
func padFlood(id uint32, n int) step {
	return func(e *env) error {
		for range n {
			if err := writePadded(id, []byte("p"), 255)(e); err != nil {
				return err
			}
		}
		return nil
	}
}

// TestServerConnectionPreface checks RFC 9113 §3.4 and §6.5.3 on our
// server with a client that breaks the opening of the connection.
func TestServerConnectionPreface(t *testing.T) {
	cases := []struct {
		name  string
		write func(p *frametest.Peer) error
		code  http2.ErrCode
	}{
		{"3.4/bad-preface", func(p *frametest.Peer) error {
			return p.WriteRaw([]byte("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n"))
		}, http2.ErrCodeProtocol},
		{"3.4/first-frame-not-SETTINGS", func(p *frametest.Peer) error {
			if err := p.WriteRaw([]byte(http2.ClientPreface)); err != nil {
				return err
			}
			return p.WritePing(false, [8]byte{})
		}, http2.ErrCodeProtocol},
		{"3.4/first-frame-SETTINGS-ACK", func(p *frametest.Peer) error {
			if err := p.WriteRaw([]byte(http2.ClientPreface)); err != nil {
				return err
			}
			return p.WriteSettingsAck()
		}, http2.ErrCodeProtocol},
		{"6.5.3/SETTINGS-not-acknowledged", func(p *frametest.Peer) error {
			if err := p.WriteRaw([]byte(http2.ClientPreface)); err != nil {
				return err
			}
			return p.WriteSettings()
		}, http2.ErrCodeSettingsTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			cnc, snc := net.Pipe()
			p := frametest.NewPeer(cnc)
			sc := make(chan *Conn, 1)
			go func() { sc <- NewServerConn(snc, &Config{SettingsTimeout: 50 * time.Millisecond}, hold) }()
			t.Cleanup(func() { cnc.Close(); srv := <-sc; srv.Close(); waitConn(t, srv) })
			if _, err := p.ExpectSettings(); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(p); err != nil {
				t.Fatal(err)
			}
			if _, err := p.ExpectGoAway(tc.code); err != nil {
				t.Fatal(err)
			}
			if err := p.ExpectClosed(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestServerContinuationFlood checks RFC 9113 §10.5 for a header block that
// never ends: the server must close the connection once the block passes
// its cap, having read a bounded number of bytes. On a pipe every byte
// written was read by the server, so the count bounds what it buffered.
func TestServerContinuationFlood(t *testing.T) {
	const maxList = 16 << 10
	_, p := rawClient(t, &Config{MaxHeaderListSize: maxList}, hold)
	// Each fragment is whole literal fields, never indexed.
	var field []byte
	field = append(field, 0x00, 7)
	field = append(field, "x-flood"...)
	field = append(field, 100)
	field = append(field, strings.Repeat("f", 100)...)
	fragment := bytes.Repeat(field, 16000/len(field))

	written := make(chan int, 1)
	go func() {
		n := 0
		err := p.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: p.EncodeHeaders(requestKV("/flood")...)})
		for i := 0; err == nil && i < 4096; i++ {
			n += len(fragment) + 9
			err = p.WriteContinuation(1, false, fragment)
		}
		written <- n
	}()
	if _, err := p.ExpectGoAway(http2.ErrCodeEnhanceYourCalm); err != nil {
		t.Fatal(err)
	}
	if err := p.ExpectClosed(); err != nil {
		t.Fatal(err)
	}
	n := within(t, "the flood to stop", written)
	t.Logf("the server closed the connection after %d bytes of the block", n)
	// hpack caps a block at max(64 KiB, 4 × the list limit), frame headers
	// included; one more fragment may be in flight.
	if limit := 64<<10 + 2*(len(fragment)+9); n > limit {
		t.Fatalf("server read %d bytes of one header block, want at most %d", n, limit)
	}
}

// TestServerShutdownFrames checks the frames of a graceful shutdown (RFC
// 9113 §6.8): GOAWAY with 2^31-1, a PING, then GOAWAY with the real last
// stream ID once the PING is answered; a stream opened after that is
// ignored, the stream in flight finishes, and the connection closes.
func TestServerShutdownFrames(t *testing.T) {
	srv, p := rawClient(t, nil, echo)
	e := &env{p: p, c: srv}
	if err := writeRequest(1, false)(e); err != nil {
		t.Fatal(err)
	}
	if err := expectAlive(e); err != nil { // the server has seen stream 1
		t.Fatal(err)
	}
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	ga, err := p.ExpectGoAway(http2.ErrCodeNo)
	if err != nil {
		t.Fatal(err)
	}
	if ga.LastStreamID != maxWindow {
		t.Fatalf("first GOAWAY with last stream %d, want 2^31-1", ga.LastStreamID)
	}
	f, err := readUntil(p, "PING", func(f http2.Frame) bool {
		pf, ok := f.(*http2.PingFrame)
		return ok && !pf.IsAck()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WritePing(true, f.(*http2.PingFrame).Data); err != nil {
		t.Fatal(err)
	}
	if ga, err = p.ExpectGoAway(http2.ErrCodeNo); err != nil {
		t.Fatal(err)
	}
	if ga.LastStreamID != 1 {
		t.Fatalf("second GOAWAY with last stream %d, want 1", ga.LastStreamID)
	}
	for i, st := range []step{
		writeRequest(3, true), writeData(1, true, []byte("abc")),
		expectHeaders(1, false), expectData(1, "abc", false), expectHeaders(1, true),
	} {
		if err := st(e); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := p.ExpectClosed(); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "Shutdown", shut); err != nil {
		t.Fatal(err)
	}
}
