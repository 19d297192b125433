package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
)

func TestRoundTrip(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		paths := make(chan string, 1)
		client, _ := startPair(t, tr, nil, nil, func(s *Stream) {
			paths <- s.Request().Path
			echo(s)
		})
		want := pattern(1000)
		got, trailers, err := roundTrip(context.Background(), client, want)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkBody(got, want); err != nil {
			t.Fatal(err)
		}
		if err := equalFields(trailers, []string{"grpc-status", "0"}); err != nil {
			t.Fatal(err)
		}
		if p := <-paths; p != "/echo" {
			t.Fatalf("server saw path %q", p)
		}
	})
}

// TestLargeBodies sends several MiB each way through 64 KiB windows: only
// WINDOW_UPDATE frames let them through (RFC 9113 §6.9).
func TestLargeBodies(t *testing.T) {
	for _, bdp := range []bool{false, true} {
		t.Run(fmt.Sprintf("bdp=%v", bdp), func(t *testing.T) {
			forTransports(t, func(t *testing.T, tr transport) {
				cfg := &Config{DisableBDP: !bdp}
				client, _ := startPair(t, tr, cfg, cfg, echo)
				want := pattern(4 << 20)
				got, _, err := roundTrip(context.Background(), client, want)
				if err != nil {
					t.Fatal(err)
				}
				if err := checkBody(got, want); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestConcurrentStreams runs 200 streams at once on one connection.
func TestConcurrentStreams(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		client, _ := startPair(t, tr, nil, nil, echo)
		errs := make(chan error, 200)
		for i := range 200 {
			go func() {
				want := pattern(100 + i*50)
				got, _, err := roundTrip(context.Background(), client, want)
				if err == nil {
					err = checkBody(got, want)
				}
				errs <- err
			}()
		}
		for range 200 {
			if err := within(t, "a stream", errs); err != nil {
				t.Error(err)
			}
		}
	})
}

// TestClientWaitsForStreamQuota checks RFC 9113 §5.1.2 from the client:
// with the server's SETTINGS_MAX_CONCURRENT_STREAMS at 3, the client opens
// no more than 3 streams at once, so none is refused.
func TestClientWaitsForStreamQuota(t *testing.T) {
	const limit, n = 3, 20
	forTransports(t, func(t *testing.T, tr transport) {
		var maxSeen atomic.Int32
		reached := make(chan struct{})
		var once sync.Once
		gate := make(chan struct{})
		client, _ := startPair(t, tr, nil, &Config{MaxConcurrentStreams: limit}, func(s *Stream) {
			k := int32(s.Conn().NumStreams())
			for m := maxSeen.Load(); k > m && !maxSeen.CompareAndSwap(m, k); m = maxSeen.Load() {
			}
			if k == limit {
				once.Do(func() { close(reached) })
			}
			select {
			case <-gate:
			case <-s.Done():
				return
			}
			echo(s)
		})
		errs := make(chan error, n)
		for range n {
			go func() {
				_, _, err := roundTrip(context.Background(), client, []byte("x"))
				errs <- err
			}()
		}
		within(t, "the server to hold the limit of streams", reached)
		close(gate)
		for range n {
			if err := within(t, "a stream", errs); err != nil {
				t.Error(err)
			}
		}
		if m := maxSeen.Load(); m > limit {
			t.Fatalf("server saw %d streams open at once, limit %d", m, limit)
		}
	})
}

// TestResetByClient checks that a handler sees the client's RST_STREAM.
func TestResetByClient(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		entered := make(chan struct{})
		handlerErr := make(chan error, 1)
		client, _ := startPair(t, tr, nil, nil, func(s *Stream) {
			close(entered)
			_, err := io.Copy(io.Discard, s)
			handlerErr <- err
		})
		s, err := client.NewStream(context.Background(), request("/reset"), false)
		if err != nil {
			t.Fatal(err)
		}
		within(t, "the handler", entered)
		s.Reset(frame.ErrCodeCancel)
		err = within(t, "the handler's error", handlerErr)
		if re, ok := asReset(err); !ok || re.Code != frame.ErrCodeCancel || !re.Remote {
			t.Fatalf("handler read error %v, want a remote ResetError CANCEL", err)
		}
		if re, ok := asReset(s.Err()); !ok || re.Remote {
			t.Fatalf("client stream error %v, want a local ResetError", s.Err())
		}
	})
}

// TestResetByServer checks that the client sees the server's RST_STREAM.
func TestResetByServer(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		client, _ := startPair(t, tr, nil, nil, func(s *Stream) { s.Reset(frame.ErrCodeRefusedStream) })
		s, err := client.NewStream(context.Background(), request("/reset"), true)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Header()
		if re, ok := asReset(err); !ok || re.Code != frame.ErrCodeRefusedStream || !re.Remote {
			t.Fatalf("Header: %v, want a remote ResetError REFUSED_STREAM", err)
		}
	})
}

// TestServerShutdown checks a graceful shutdown with our own client: the
// stream in flight finishes, no new stream opens, Shutdown returns once
// the connection is idle, and both ends close.
func TestServerShutdown(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		entered := make(chan struct{})
		release := make(chan struct{})
		client, server := startPair(t, tr, nil, nil, func(s *Stream) {
			if s.Request().Path == "/echo" {
				close(entered)
			}
			<-release
			echo(s)
		})
		result := make(chan error, 1)
		go func() {
			_, _, err := roundTrip(context.Background(), client, []byte("in flight"))
			result <- err
		}()
		within(t, "the handler", entered)
		shut := make(chan error, 1)
		go func() { shut <- server.Shutdown(context.Background()) }()
		// The client learns of the shutdown from the first GOAWAY.
		for {
			_, err := client.NewStream(context.Background(), request("/late"), true)
			if errors.Is(err, ErrConnDraining) {
				break
			}
			if err != nil {
				t.Fatalf("NewStream during shutdown: %v", err)
			}
		}
		close(release)
		if err := within(t, "the stream in flight", result); err != nil {
			t.Fatalf("stream in flight: %v", err)
		}
		if err := within(t, "Shutdown", shut); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		within(t, "the server to close", server.Done())
		within(t, "the client to close", client.Done())
	})
}

// TestServerClose checks a hard Close with a stream in flight: the
// handler and the client's stream end with errors, both ends close.
func TestServerClose(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		entered := make(chan struct{})
		client, server := startPair(t, tr, nil, nil, func(s *Stream) {
			close(entered)
			<-s.Done()
		})
		s, err := client.NewStream(context.Background(), request("/hold"), false)
		if err != nil {
			t.Fatal(err)
		}
		within(t, "the handler", entered)
		server.Close()
		if _, err := s.Header(); err == nil {
			t.Fatal("Header succeeded on a closed connection")
		}
		within(t, "the client to close", client.Done())
		waitConn(t, server)
	})
}

// TestStreamIDsRunOut checks RFC 9113 §5.1.1: once the client has used the
// last stream ID, NewStream reports ErrConnDraining, and the streams in
// flight still finish.
func TestStreamIDsRunOut(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		release := make(chan struct{})
		client, _ := startPair(t, tr, nil, nil, func(s *Stream) {
			<-release
			echo(s)
		})
		buf := client.w.Start() // nextID is guarded by the writer
		client.nextID = maxStreamID - 2
		client.w.Finish(buf, frame.NoFlush)

		results := make(chan error, 2)
		for _, id := range []uint32{maxStreamID - 2, maxStreamID} {
			s, err := client.NewStream(context.Background(), request("/last"), false)
			if err != nil {
				t.Fatal(err)
			}
			if s.ID() != id {
				t.Fatalf("stream ID %d, want %d", s.ID(), id)
			}
			go func() {
				err := s.WriteData([]byte("last"), true, true)
				if err == nil {
					var got []byte
					got, err = io.ReadAll(s)
					if err == nil {
						err = checkBody(got, []byte("last"))
					}
				}
				results <- err
			}()
		}
		if _, err := client.NewStream(context.Background(), request("/none"), true); !errors.Is(err, ErrConnDraining) {
			t.Fatalf("NewStream after the last ID: %v, want ErrConnDraining", err)
		}
		close(release)
		for range 2 {
			if err := within(t, "a stream in flight", results); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestBDPGrowsWindow checks that a large transfer grows the receive window
// beyond the initial 64 KiB: the server announces a larger
// SETTINGS_INITIAL_WINDOW_SIZE, which the client sees.
func TestBDPGrowsWindow(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		client, server := startPair(t, tr, nil, nil, func(s *Stream) {
			io.Copy(io.Discard, s)
			s.WriteHeaders(append(okResponse[:2:2], okTrailers...), true, true)
		})
		s, err := client.NewStream(context.Background(), request("/upload"), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WriteData(pattern(16<<20), true, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Header(); err != nil {
			t.Fatal(err)
		}
		// The server's window may still be growing: ask for the settings it
		// sent before its response, which the client applied in order.
		got := client.PeerSettings().InitialWindowSize
		server.mu.Lock()
		announced := server.streamWin
		server.mu.Unlock()
		t.Logf("stream window %d announced; client sees %d", announced, got)
		if got <= 64<<10 {
			t.Fatalf("the client sees an initial window of %d after 16 MiB, want it grown past 64 KiB", got)
		}
	})
}

// TestServerDoesNotOpenStreams: NewStream on a server connection fails
// with ErrNotClient instead of writing a stream the protocol forbids.
func TestServerDoesNotOpenStreams(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	go io.Copy(io.Discard, a) // a pipe write waits for its reader
	srv := NewServerConn(b, nil, func(*Stream) {})
	defer func() { srv.Close(); srv.Wait() }()
	if _, err := srv.NewStream(context.Background(), nil, true); err != ErrNotClient {
		t.Fatalf("NewStream on a server: %v, want ErrNotClient", err)
	}
}

// TestCompleteResponseThenNoError: a server may answer in full before the
// request is complete, then reset with NO_ERROR; the client keeps the
// response (RFC 9113 §8.1) and its own writes stop.
func TestCompleteResponseThenNoError(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		client, _ := startPair(t, tr, nil, nil, func(s *Stream) {
			s.WriteHeaders(okResponse, false, false)
			s.WriteData([]byte("early answer"), false, false)
			s.WriteHeaders([]hpack.HeaderField{{Name: "grpc-status", Value: "0"}}, true, true)
			// The handler returns with the request still open: the stream
			// layer resets it with NO_ERROR.
		})
		s, err := client.NewStream(context.Background(), request("/early"), false)
		if err != nil {
			t.Fatal(err)
		}
		<-s.Done()
		body, err := io.ReadAll(s)
		if err != nil || string(body) != "early answer" {
			t.Fatalf("body %q, %v", body, err)
		}
		if err := equalFields(s.Trailer(), []string{"grpc-status", "0"}); err != nil {
			t.Fatal(err)
		}
		var re *ResetError
		if err := s.WriteData([]byte("more"), true, true); !errors.As(err, &re) || re.Code != frame.ErrCodeNo || !re.Remote {
			t.Fatalf("write after the peer stopped us: %v", err)
		}
	})
}
