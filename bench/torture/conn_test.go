package torture

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/protobuf/proto"

	"github.com/h2rpc/h2rpc/frame/frametest"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
)

// fakeServer serves every connection accepted on a loopback port with
// serve, as the raw server end, until the test ends; it returns the
// address.
func fakeServer(t *testing.T, serve func(nc net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer nc.Close()
				serve(nc)
			})
		}
	})
	return ln.Addr().String()
}

// serverPeer runs the server side of the HTTP/2 handshake on nc.
func serverPeer(t *testing.T, nc net.Conn, settings ...http2.Setting) *frametest.Peer {
	p := frametest.NewPeer(nc)
	if err := p.Handshake(false, settings...); err != nil {
		t.Errorf("server handshake: %v", err)
		return nil
	}
	return p
}

// readAll reads frames until the connection ends, handing each to fn
// with mu held, and returns the error that ended reading (fn's, if any).
func readAll(p *frametest.Peer, mu *sync.Mutex, fn func(http2.Frame) error) error {
	for {
		f, err := p.ReadFrame()
		if err != nil {
			return err
		}
		mu.Lock()
		err = fn(f)
		mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// attackFake runs one attack, without a probe, against addr.
func attackFake(t *testing.T, addr, name string, cfg Config) Result {
	t.Helper()
	cfg.Target = addr
	if cfg.Duration == 0 {
		cfg.Duration = 500 * time.Millisecond
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = 200 * time.Millisecond
	}
	if cfg.DrainIdle == 0 {
		cfg.DrainIdle = 200 * time.Millisecond
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	a := lookup(name)
	if a == nil {
		t.Fatalf("no attack %q", name)
	}
	return runAttack(context.Background(), &cfg, a, nil)
}

// lingerClose ends a connection as a careful server does after GOAWAY:
// FIN after what was written, then reading what the peer still sends, up
// to 1 MiB, so that the GOAWAY is not lost to a reset.
func lingerClose(nc net.Conn) {
	nc.(*net.TCPConn).CloseWrite()
	nc.SetReadDeadline(time.Now().Add(time.Second))
	io.CopyN(io.Discard, nc, 1<<20)
}

func TestGoAwayThenClose(t *testing.T) {
	leakcheck.Check(t)
	addr := fakeServer(t, func(nc net.Conn) {
		p := serverPeer(t, nc)
		if p == nil {
			return
		}
		if _, err := p.ReadFrame(); err != nil {
			t.Errorf("reading the first PING: %v", err)
			return
		}
		p.WriteGoAway(0, http2.ErrCodeEnhanceYourCalm, []byte("too many pings"))
		lingerClose(nc)
	})
	res := attackFake(t, addr, "ping-flood", Config{Duration: 2 * time.Second})
	if len(res.Conns) != 1 {
		t.Fatalf("%d connections, want 1", len(res.Conns))
	}
	c := res.Conns[0]
	if !c.Closed || c.GoAway != "ENHANCE_YOUR_CALM" || c.GoAwayDebug != "too many pings" || c.How != "TCP close" {
		t.Errorf("got %+v, want closed by GOAWAY ENHANCE_YOUR_CALM \"too many pings\" then TCP close", c)
	}
	if res.Closed != 1 || res.Outcome != "GOAWAY ENHANCE_YOUR_CALM" {
		t.Errorf("closed %d, outcome %q; want 1, GOAWAY ENHANCE_YOUR_CALM", res.Closed, res.Outcome)
	}
	if time.Duration(c.ClosedAfter) >= 2*time.Second {
		t.Errorf("closing seen after %v, want it during the flood", time.Duration(c.ClosedAfter))
	}
}

func TestServerThatStopsReading(t *testing.T) {
	leakcheck.Check(t)
	release := make(chan struct{})
	addr := fakeServer(t, func(nc net.Conn) {
		if serverPeer(t, nc) == nil {
			return
		}
		<-release // read nothing more, close nothing
	})
	t0 := time.Now()
	res := attackFake(t, addr, "settings-flood", Config{Duration: time.Second})
	took := time.Since(t0)
	close(release)
	c := res.Conns[0]
	if c.Closed || !c.Stalled || c.How != "open" {
		t.Errorf("got %+v, want open and stalled", c)
	}
	if res.Outcome != "open, not reading" {
		t.Errorf("outcome %q, want \"open, not reading\"", res.Outcome)
	}
	// The flood lasts 1s and the drain stops 200ms after the last frame
	// read (or 1s after the flood at most).
	if took > 3*time.Second {
		t.Errorf("the attack took %v against a server that stopped reading", took)
	}
}

func TestServerReset(t *testing.T) {
	leakcheck.Check(t)
	addr := fakeServer(t, func(nc net.Conn) {
		p := serverPeer(t, nc)
		if p == nil {
			return
		}
		p.ReadFrame()
		nc.(*net.TCPConn).SetLinger(0) // close with RST
	})
	res := attackFake(t, addr, "window-update-flood", Config{Duration: 2 * time.Second})
	c := res.Conns[0]
	// The kernel reports a reset once, to the first call on the socket:
	// when the flooding writer takes it, the reader sees only the end of
	// the stream. So a reset may be told as a close; never as open or as
	// a GOAWAY.
	if !c.Closed || (c.How != "TCP reset" && c.How != "TCP close") || c.GoAway != "" {
		t.Errorf("got %+v, want closed by TCP reset (or its end of stream) without GOAWAY", c)
	}
}

func TestGoAwayBeforeSettings(t *testing.T) {
	leakcheck.Check(t)
	addr := fakeServer(t, func(nc net.Conn) {
		p := frametest.NewPeer(nc)
		p.WriteGoAway(0, http2.ErrCodeHTTP11Required, nil)
		lingerClose(nc)
	})
	res := attackFake(t, addr, "rapid-reset", Config{})
	if !strings.Contains(res.Error, "GOAWAY HTTP_1_1_REQUIRED before its SETTINGS") || len(res.Conns) != 0 {
		t.Errorf("error %q with %d connections; want the GOAWAY named and no connection", res.Error, len(res.Conns))
	}
}

// TestSmallDataKeepsToWindows checks that small-data sends no byte its
// windows do not allow: with stream windows of 10 bytes and no
// WINDOW_UPDATE, each of its 16 requests carries exactly 10 one-byte DATA
// frames, the first five the prefix announcing 4 MiB.
func TestSmallDataKeepsToWindows(t *testing.T) {
	leakcheck.Check(t)
	type streamSeen struct {
		data []byte
		max  int
	}
	var mu sync.Mutex
	seen := map[uint32]*streamSeen{}
	addr := fakeServer(t, func(nc net.Conn) {
		p := serverPeer(t, nc, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
		if p == nil {
			return
		}
		readAll(p, &mu, func(f http2.Frame) error {
			switch f := f.(type) {
			case *http2.HeadersFrame:
				seen[f.StreamID] = &streamSeen{}
			case *http2.DataFrame:
				s := seen[f.StreamID]
				if s == nil {
					t.Errorf("DATA on stream %d before its HEADERS", f.StreamID)
					return errors.New("DATA before HEADERS")
				}
				s.data = append(s.data, f.Data()...)
				s.max = max(s.max, len(f.Data()))
			}
			return nil
		})
	})
	res := attackFake(t, addr, "small-data", Config{})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != smallDataStreams {
		t.Errorf("%d requests, want %d", len(seen), smallDataStreams)
	}
	prefix := messagePrefix(largeMessage)
	want := append(prefix[:], 0, 0, 0, 0, 0)
	for id, s := range seen {
		if !bytes.Equal(s.data, want) || s.max != 1 {
			t.Errorf("stream %d: received %d bytes starting %x in frames of up to %d bytes, want %x one byte at a time",
				id, len(s.data), s.data[:min(len(s.data), 16)], s.max, want)
		}
	}
	if wantFrames := int64(smallDataStreams * (1 + 10)); res.FramesSent < wantFrames {
		t.Errorf("%d frames sent, want at least %d", res.FramesSent, wantFrames)
	}
}

// TestZeroWindowRequests checks the zero-window attack's SETTINGS and
// requests, and that it opens as many streams as the server allows.
func TestZeroWindowRequests(t *testing.T) {
	leakcheck.Check(t)
	const limit = 5
	var mu sync.Mutex
	var streams, zeroWindows int
	var bad []string
	addr := fakeServer(t, func(nc net.Conn) {
		p := frametest.NewPeer(nc)
		// Read the preface by hand to see the client's SETTINGS.
		b := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(nc, b); err != nil {
			return
		}
		p.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: limit})
		readAll(p, &mu, func(f http2.Frame) error {
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if v, ok := f.Value(http2.SettingInitialWindowSize); ok && v == 0 {
					zeroWindows++
				}
			case *http2.HeadersFrame:
				streams++
			case *http2.DataFrame:
				var req pb.SimpleRequest
				d := f.Data()
				if !f.StreamEnded() || len(d) < 5 || proto.Unmarshal(d[5:], &req) != nil || req.GetResponseSize() != largeResponse {
					bad = append(bad, f.Header().String())
				}
			}
			return nil
		})
	})
	res := attackFake(t, addr, "zero-window", Config{Connections: 2})
	mu.Lock()
	defer mu.Unlock()
	if len(res.Conns) != 2 || zeroWindows != 2 {
		t.Errorf("%d connections, %d announcing INITIAL_WINDOW_SIZE 0; want 2 and 2", len(res.Conns), zeroWindows)
	}
	if streams != 2*limit {
		t.Errorf("%d streams opened, want %d (the server's limit on each connection)", streams, 2*limit)
	}
	if len(bad) > 0 {
		t.Errorf("requests that are not one SimpleRequest asking %d bytes with END_STREAM: %v", largeResponse, bad)
	}
}

// TestContinuationBlockStaysWhole checks that the continuation flood sends
// nothing but CONTINUATION frames after its HEADERS, even when the server
// asks for acknowledgements: x/net's strict reader fails on anything else.
func TestContinuationBlockStaysWhole(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	var continuations int
	var readErr error
	addr := fakeServer(t, func(nc net.Conn) {
		p := serverPeer(t, nc)
		if p == nil {
			return
		}
		p.WritePing(false, [8]byte{1})
		p.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 9})
		err := readAll(p, &mu, func(f http2.Frame) error {
			switch f.(type) {
			case *http2.ContinuationFrame:
				continuations++
			case *http2.HeadersFrame, *http2.PingFrame, *http2.SettingsFrame:
				// The HEADERS, or acknowledgements before it.
			default:
				return errors.New("unexpected " + f.Header().String())
			}
			return nil
		})
		// The flood's last write may end inside a frame.
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
			mu.Lock()
			readErr = err
			mu.Unlock()
		}
	})
	attackFake(t, addr, "continuation", Config{})
	mu.Lock()
	defer mu.Unlock()
	if readErr != nil {
		t.Errorf("the server's reader failed: %v", readErr)
	}
	if continuations < 10 {
		t.Errorf("%d CONTINUATION frames, want a flood", continuations)
	}
}

// TestSlowlorisNeverCompletesThePreface checks that each slowloris
// connection sends a strict prefix of the client preface, one byte at a
// time.
func TestSlowlorisNeverCompletesThePreface(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	var got []string
	addr := fakeServer(t, func(nc net.Conn) {
		var b []byte
		var one [1]byte
		for {
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := nc.Read(one[:]); err != nil {
				break
			}
			b = append(b, one[0])
		}
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
	})
	res := attackFake(t, addr, "slowloris", Config{Connections: 3, Duration: 460 * time.Millisecond})
	if len(res.Conns) != 3 {
		t.Fatalf("%d connections, want 3", len(res.Conns))
	}
	// The fake server records a connection once it is closed.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 3 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// The bytes are spread over the attack's duration, so a loaded
	// machine may end it a byte or two early; what must hold is that no
	// connection ever completes the preface, and that the count is true.
	total := 0
	for _, g := range got {
		if len(g) < len(http2.ClientPreface)/2 || len(g) >= len(http2.ClientPreface) || !strings.HasPrefix(http2.ClientPreface, g) {
			t.Errorf("a connection sent %q: want a strict prefix of the preface, most of it", g)
		}
		total += len(g)
	}
	if res.FramesSent != int64(total) {
		t.Errorf("%d bytes counted, %d received", res.FramesSent, total)
	}
}
