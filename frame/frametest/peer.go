package frametest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// DefaultTimeout bounds every read and write of a Peer unless its Timeout
// field says otherwise.
const DefaultTimeout = 5 * time.Second

// Peer is the raw end of a connection under test. Its embedded Framer has
// AllowIllegalWrites set, so a test can write any frame the protocol
// forbids; its reads stay strict, so whatever the other end sends is
// checked by an independent implementation. Every read and write is bounded
// by Timeout. A Peer is not safe for concurrent use, except that one
// goroutine may read while another writes.
type Peer struct {
	*http2.Framer
	// Conn is the connection the Peer reads and writes.
	Conn net.Conn
	// Timeout bounds each read or write; zero means DefaultTimeout.
	Timeout time.Duration

	enc    *hpack.Encoder
	encBuf bytes.Buffer
	dec    *hpack.Decoder
}

// NewPeer returns a Peer on c.
func NewPeer(c net.Conn) *Peer {
	p := &Peer{Conn: c}
	p.Framer = http2.NewFramer(deadlineWriter{p}, c)
	p.Framer.AllowIllegalWrites = true
	p.enc = hpack.NewEncoder(&p.encBuf)
	p.dec = hpack.NewDecoder(4096, nil)
	return p
}

func (p *Peer) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return DefaultTimeout
}

// deadlineWriter sets the Peer's write deadline before each write, so a
// test whose other end stops reading fails instead of hanging.
type deadlineWriter struct{ p *Peer }

func (w deadlineWriter) Write(b []byte) (int, error) {
	if err := w.p.Conn.SetWriteDeadline(time.Now().Add(w.p.timeout())); err != nil {
		return 0, err
	}
	return w.p.Conn.Write(b)
}

// WriteRaw writes b to the connection as it is: a preface, a frame built
// by hand, or half of one.
func (p *Peer) WriteRaw(b []byte) error {
	_, err := deadlineWriter{p}.Write(b)
	return err
}

// ReadFrame reads the next frame, failing if none arrives within Timeout.
// The frame is valid until the next read.
func (p *Peer) ReadFrame() (http2.Frame, error) {
	if err := p.Conn.SetReadDeadline(time.Now().Add(p.timeout())); err != nil {
		return nil, err
	}
	return p.Framer.ReadFrame()
}

// readUntil reads frames until want returns true for one, and returns it.
// Frames of the kinds an endpoint sends on its own at any time (SETTINGS,
// PING, WINDOW_UPDATE) are skipped; any other frame is an error.
func (p *Peer) readUntil(what string, want func(http2.Frame) bool) (http2.Frame, error) {
	deadline := time.Now().Add(p.timeout())
	if err := p.Conn.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	for {
		f, err := p.Framer.ReadFrame()
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", what, err)
		}
		if want(f) {
			return f, nil
		}
		switch f.(type) {
		case *http2.SettingsFrame, *http2.PingFrame, *http2.WindowUpdateFrame:
			continue
		}
		return nil, fmt.Errorf("waiting for %s: got %v", what, f)
	}
}

// ExpectGoAway reads until a GOAWAY frame arrives, skipping SETTINGS, PING
// and WINDOW_UPDATE frames, and checks its error code.
func (p *Peer) ExpectGoAway(code http2.ErrCode) (*http2.GoAwayFrame, error) {
	f, err := p.readUntil("GOAWAY "+code.String(), func(f http2.Frame) bool {
		_, ok := f.(*http2.GoAwayFrame)
		return ok
	})
	if err != nil {
		return nil, err
	}
	ga := f.(*http2.GoAwayFrame)
	if ga.ErrCode != code {
		return ga, fmt.Errorf("GOAWAY with %v, want %v (debug %q)", ga.ErrCode, code, ga.DebugData())
	}
	return ga, nil
}

// ExpectRST reads until an RST_STREAM frame arrives, skipping SETTINGS,
// PING and WINDOW_UPDATE frames, and checks its stream and error code.
func (p *Peer) ExpectRST(stream uint32, code http2.ErrCode) error {
	f, err := p.readUntil(fmt.Sprintf("RST_STREAM %v on stream %d", code, stream), func(f http2.Frame) bool {
		_, ok := f.(*http2.RSTStreamFrame)
		return ok
	})
	if err != nil {
		return err
	}
	rst := f.(*http2.RSTStreamFrame)
	if rst.StreamID != stream || rst.ErrCode != code {
		return fmt.Errorf("RST_STREAM %v on stream %d, want %v on stream %d", rst.ErrCode, rst.StreamID, code, stream)
	}
	return nil
}

// ExpectSettings reads the next frame and checks that it is a SETTINGS
// frame without the ACK flag.
func (p *Peer) ExpectSettings() (*http2.SettingsFrame, error) {
	f, err := p.ReadFrame()
	if err != nil {
		return nil, fmt.Errorf("waiting for SETTINGS: %w", err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return nil, fmt.Errorf("waiting for SETTINGS: got %v", f)
	}
	return sf, nil
}

// ExpectClosed reads until the connection ends, skipping SETTINGS, PING and
// WINDOW_UPDATE frames; a GOAWAY is allowed before the end. It fails if any
// other frame arrives or the connection stays open past Timeout.
func (p *Peer) ExpectClosed() error {
	_, err := p.readUntil("end of connection", func(f http2.Frame) bool {
		_, ok := f.(*http2.GoAwayFrame)
		return ok
	})
	if err == nil {
		_, err = p.readUntil("end of connection", func(http2.Frame) bool { return false })
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return err
}

// Handshake opens the connection as a client (client connection preface,
// then SETTINGS) or as a server (reads the preface, then SETTINGS), sends
// settings, acknowledges the other end's SETTINGS and waits for the
// acknowledgement of its own. PING and WINDOW_UPDATE frames that arrive
// meanwhile are skipped.
func (p *Peer) Handshake(client bool, settings ...http2.Setting) error {
	if client {
		if err := p.WriteRaw([]byte(http2.ClientPreface)); err != nil {
			return fmt.Errorf("writing preface: %w", err)
		}
	} else {
		if err := p.Conn.SetReadDeadline(time.Now().Add(p.timeout())); err != nil {
			return err
		}
		b := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(p.Conn, b); err != nil {
			return fmt.Errorf("reading preface: %w", err)
		}
		if string(b) != http2.ClientPreface {
			return fmt.Errorf("bad preface %q", b)
		}
	}
	// Writes go on their own goroutine: on a synchronous connection such
	// as net.Pipe both ends may be writing SETTINGS at once, and neither
	// would read.
	ackc := make(chan struct{}, 1)
	werr := make(chan error, 1)
	go func() {
		if err := p.WriteSettings(settings...); err != nil {
			werr <- fmt.Errorf("writing SETTINGS: %w", err)
			return
		}
		if _, ok := <-ackc; ok {
			if err := p.WriteSettingsAck(); err != nil {
				werr <- fmt.Errorf("writing SETTINGS ACK: %w", err)
				return
			}
		}
		werr <- nil
	}()
	err := p.awaitSettings(ackc)
	close(ackc)
	if err != nil {
		<-werr
		return err
	}
	return <-werr
}

// awaitSettings reads until both the other end's SETTINGS and the ACK of
// ours have arrived, asking on ackc for the other end's to be acknowledged.
func (p *Peer) awaitSettings(ackc chan<- struct{}) error {
	var gotSettings, gotAck bool
	for !gotSettings || !gotAck {
		f, err := p.ReadFrame()
		if err != nil {
			return fmt.Errorf("handshake: %w", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				gotAck = true
				continue
			}
			if gotSettings {
				return errors.New("handshake: second SETTINGS before the ACK of ours")
			}
			gotSettings = true
			ackc <- struct{}{}
		case *http2.PingFrame, *http2.WindowUpdateFrame:
		default:
			return fmt.Errorf("handshake: unexpected %v", f)
		}
	}
	return nil
}

// EncodeHeaders returns the header block for the name, value pairs in kv,
// encoded by the Peer's HPACK encoder, whose dynamic table lives as long as
// the connection: blocks must be sent in the order they were encoded.
func (p *Peer) EncodeHeaders(kv ...string) []byte {
	if len(kv)%2 != 0 {
		panic("frametest: EncodeHeaders needs name, value pairs")
	}
	p.encBuf.Reset()
	for i := 0; i < len(kv); i += 2 {
		if err := p.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]}); err != nil {
			panic(err) // writes to a bytes.Buffer do not fail
		}
	}
	return bytes.Clone(p.encBuf.Bytes())
}

// WriteHeaderBlock writes the name, value pairs in kv as one HEADERS frame
// with END_HEADERS on stream.
func (p *Peer) WriteHeaderBlock(stream uint32, endStream bool, kv ...string) error {
	return p.WriteHeaders(http2.HeadersFrameParam{
		StreamID:      stream,
		BlockFragment: p.EncodeHeaders(kv...),
		EndStream:     endStream,
		EndHeaders:    true,
	})
}

// DecodeHeaders decodes a complete header block received from the other
// end with the Peer's HPACK decoder.
func (p *Peer) DecodeHeaders(block []byte) ([]hpack.HeaderField, error) {
	return p.dec.DecodeFull(block)
}
