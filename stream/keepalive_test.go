package stream

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/frame/frametest"
	"golang.org/x/net/http2"
)

// event is a frame the raw peer read, with when it arrived.
type event struct {
	at     time.Duration // since the test began
	typ    http2.FrameType
	stream uint32
	ack    bool
	ping   [8]byte
	code   http2.ErrCode
	last   uint32
	debug  string
}

// collect reads every frame p receives on a goroutine of its own (on
// net.Pipe a write waits for the other end to read) until the connection
// ends, then closes the channel.
func collect(p *frametest.Peer, start time.Time) <-chan event {
	p.Timeout = 1000 * time.Hour
	ch := make(chan event, 4096)
	go func() {
		defer close(ch)
		for {
			f, err := p.ReadFrame()
			if err != nil {
				return
			}
			h := f.Header()
			e := event{at: time.Since(start), typ: h.Type, stream: h.StreamID, ack: h.Flags.Has(http2.FlagPingAck)}
			switch f := f.(type) {
			case *http2.PingFrame:
				e.ping = f.Data
			case *http2.GoAwayFrame:
				e.code, e.last, e.debug = f.ErrCode, f.LastStreamID, string(f.DebugData())
			case *http2.RSTStreamFrame:
				e.code = f.ErrCode
			}
			ch <- e
		}
	}()
	return ch
}

// next returns the next event of type typ, skipping others; ok is false
// once the connection has ended.
func next(ch <-chan event, typ http2.FrameType) (event, bool) {
	for e := range ch {
		if e.typ == typ {
			return e, true
		}
	}
	return event{}, false
}

// nextPing is next for PINGs that are not acknowledgements.
func nextPing(ch <-chan event) (event, bool) {
	for {
		e, ok := next(ch, http2.FramePing)
		if !ok || !e.ack {
			return e, ok
		}
	}
}

// awaitClosed waits for c to close, failing the test if it is still open
// after a day of the bubble's time.
func awaitClosed(t *testing.T, c *Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(24 * time.Hour):
		t.Fatal("connection still open after 24h")
	}
}

// TestKeepaliveClientPingAndTimeout (gRFC A8): with nothing read for
// KeepaliveTime the client sends a PING, and with nothing read for
// KeepaliveTimeout after it the connection closes, exactly then, with
// ErrKeepaliveTimeout.
func TestKeepaliveClientPingAndTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		cli, p := rawServer(t, &Config{KeepaliveTime: 10 * time.Second, KeepaliveTimeout: 3 * time.Second, KeepalivePermitWithoutStream: true})
		ch := collect(p, start)
		e, ok := nextPing(ch)
		if !ok || e.at != 10*time.Second || e.ping != keepalivePingData {
			t.Fatalf("first PING %+v (ok %v), want one at 10s", e, ok)
		}
		awaitClosed(t, cli)
		if got := time.Since(start); got != 13*time.Second {
			t.Errorf("closed at %v, want 13s", got)
		}
		var ce *ConnError
		if err := cli.Err(); !errors.As(err, &ce) || !errors.Is(err, ErrKeepaliveTimeout) || !strings.Contains(err.Error(), "keepalive ping not acknowledged") {
			t.Errorf("Err() = %v, want ErrKeepaliveTimeout", err)
		}
		for e := range ch {
			if e.typ == http2.FramePing && !e.ack {
				t.Errorf("second PING at %v", e.at)
			}
		}
	})
}

// TestKeepaliveClientAckedPings: a peer that answers every PING keeps the
// connection, and each PING follows the last frame read by KeepaliveTime,
// also when the timeout is longer than the interval.
func TestKeepaliveClientAckedPings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		cli, p := rawServer(t, &Config{KeepaliveTime: 10 * time.Second, KeepaliveTimeout: 25 * time.Second, KeepalivePermitWithoutStream: true})
		ch := collect(p, start)
		for i := 1; i <= 5; i++ {
			e, ok := nextPing(ch)
			if want := time.Duration(i) * 10 * time.Second; !ok || e.at != want {
				t.Fatalf("PING %d at %v (ok %v), want %v", i, e.at, ok, want)
			}
			if err := p.WritePing(true, e.ping); err != nil {
				t.Fatal(err)
			}
		}
		// A frame of any kind is activity: a WINDOW_UPDATE 5s after the
		// last ACK moves the next PING 5s later.
		time.Sleep(5 * time.Second)
		if err := p.WriteWindowUpdate(0, 1); err != nil {
			t.Fatal(err)
		}
		if e, ok := nextPing(ch); !ok || e.at != 65*time.Second {
			t.Fatalf("PING at %v (ok %v), want 65s", e.at, ok)
		}
		if err := cli.Err(); err != nil {
			t.Fatalf("connection closed: %v", err)
		}
	})
}

// TestKeepaliveClientNoStreamNoPing: without PermitWithoutStream a client
// with no stream open sends no keepalive PING, however long it waits; once
// a stream is open, it pings at its next look, a KeepaliveTime tick.
func TestKeepaliveClientNoStreamNoPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		cli, p := rawServer(t, &Config{KeepaliveTime: 10 * time.Second, KeepaliveTimeout: time.Hour})
		ch := collect(p, start)
		time.Sleep(time.Hour + 5*time.Second)
		if _, err := cli.NewStream(context.Background(), request("/test"), true); err != nil {
			t.Fatal(err)
		}
		if e, ok := nextPing(ch); !ok || e.at != time.Hour+10*time.Second {
			t.Fatalf("first PING at %v (ok %v), want 1h0m10s", e.at, ok)
		}
	})
}

// TestTooManyPingsRecorded: a GOAWAY ENHANCE_YOUR_CALM "too_many_pings"
// is kept for the owner of the connection, which must slow down its next
// connections, and fails the streams with it.
func TestTooManyPingsRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cli, p := rawServer(t, &Config{})
		ch := collect(p, time.Now())
		s, err := cli.NewStream(context.Background(), request("/test"), true)
		if err != nil {
			t.Fatal(err)
		}
		if cli.PeerGoAway() != nil {
			t.Fatal("PeerGoAway before any GOAWAY")
		}
		if err := p.WriteGoAway(0, http2.ErrCodeEnhanceYourCalm, []byte("too_many_pings")); err != nil {
			t.Fatal(err)
		}
		<-s.Done()
		var ge *GoAwayError
		if !errors.As(s.Err(), &ge) || ge.Debug != "too_many_pings" || !ge.TooManyPings() {
			t.Fatalf("stream error %v, want the GOAWAY too_many_pings", s.Err())
		}
		if ga := cli.PeerGoAway(); !ga.TooManyPings() {
			t.Fatalf("PeerGoAway() = %v", ga)
		}
		for range ch {
		}
	})
	if (&GoAwayError{Code: frame.ErrCodeEnhanceYourCalm, Debug: "too many pings"}).TooManyPings() {
		t.Error("TooManyPings true for other debug data")
	}
	if (&GoAwayError{Code: frame.ErrCodeNo, Debug: "too_many_pings"}).TooManyPings() {
		t.Error("TooManyPings true for NO_ERROR")
	}
}

// TestKeepaliveServerPing (gRFC A9): a server pings an idle client, with or
// without streams, and closes a silent one KeepaliveTimeout later.
func TestKeepaliveServerPing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srv, p := rawClient(t, &Config{KeepaliveTime: 2 * time.Hour, KeepaliveTimeout: 20 * time.Second}, hold)
		ch := collect(p, start)
		e, ok := nextPing(ch)
		if !ok || e.at != 2*time.Hour {
			t.Fatalf("PING at %v (ok %v), want 2h", e.at, ok)
		}
		awaitClosed(t, srv)
		if got := time.Since(start); got != 2*time.Hour+20*time.Second || !errors.Is(srv.Err(), ErrKeepaliveTimeout) {
			t.Errorf("closed at %v with %v, want 2h0m20s and ErrKeepaliveTimeout", got, srv.Err())
		}
	})
}

// expectGracefulGoAway checks the two GOAWAY frames of a graceful server
// shutdown with debug data debug, the first at want, answering the PING
// between them; it returns the second.
func expectGracefulGoAway(t *testing.T, p *frametest.Peer, ch <-chan event, want time.Duration, debug string, last uint32) {
	t.Helper()
	first, ok := next(ch, http2.FrameGoAway)
	if !ok || first.at != want || first.last != maxStreamID || first.code != http2.ErrCodeNo || first.debug != debug {
		t.Fatalf("first GOAWAY %+v (ok %v), want NO_ERROR %q, last %d, at %v", first, ok, debug, uint32(maxStreamID), want)
	}
	ping, ok := nextPing(ch)
	if !ok || ping.ping != shutdownPingData {
		t.Fatalf("PING after GOAWAY: %+v (ok %v)", ping, ok)
	}
	if err := p.WritePing(true, ping.ping); err != nil {
		t.Fatal(err)
	}
	second, ok := next(ch, http2.FrameGoAway)
	if !ok || second.at != want || second.last != last || second.code != http2.ErrCodeNo || second.debug != debug {
		t.Fatalf("second GOAWAY %+v (ok %v), want NO_ERROR %q, last %d, at %v", second, ok, debug, last, want)
	}
}

// TestMaxConnectionIdle: a connection that runs no handler for
// MaxConnectionIdle is shut down gracefully with "max_idle"; the time a
// handler runs does not count, however long.
func TestMaxConnectionIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		release := make(chan struct{})
		srv, p := rawClient(t, &Config{MaxConnectionIdle: 30 * time.Second}, func(s *Stream) {
			<-release
			s.WriteHeaders(okResponse, true, true)
		})
		ch := collect(p, start)
		time.Sleep(20 * time.Second)
		if err := p.WriteHeaderBlock(1, true, requestKV("/test")...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Second) // the handler runs from 20s to 120s
		close(release)
		expectGracefulGoAway(t, p, ch, 150*time.Second, "max_idle", 1)
		awaitClosed(t, srv)
		if got := time.Since(start); got != 150*time.Second {
			t.Errorf("closed at %v, want 150s", got)
		}
	})
}

// TestMaxConnectionIdleUnused: a connection that never runs a handler is
// idle from its start.
func TestMaxConnectionIdleUnused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		_, p := rawClient(t, &Config{MaxConnectionIdle: time.Minute}, hold)
		ch := collect(p, start)
		expectGracefulGoAway(t, p, ch, time.Minute, "max_idle", 0)
	})
}

// TestMaxConnectionAge: at MaxConnectionAge (with its jitter) the server
// shuts down gracefully with "max_age"; a stream still open
// MaxConnectionAgeGrace later is cut off with the connection.
func TestMaxConnectionAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		const age, grace = 100 * time.Second, 20 * time.Second
		srv, p := rawClient(t, &Config{MaxConnectionAge: age, MaxConnectionAgeGrace: grace}, hold)
		ch := collect(p, start)
		if err := p.WriteHeaderBlock(1, true, requestKV("/test")...); err != nil {
			t.Fatal(err)
		}
		srv.ka.mu.Lock()
		at := srv.ka.ageAt.Sub(start)
		srv.ka.mu.Unlock()
		if at < age-age/10 || at > age+age/10 {
			t.Fatalf("age %v, want within 10%% of %v", at, age)
		}
		expectGracefulGoAway(t, p, ch, at, "max_age", 1)
		awaitClosed(t, srv)
		if got := time.Since(start); got != at+grace {
			t.Errorf("closed at %v, want %v", got, at+grace)
		}
	})
}

// TestMaxConnectionAgeNoStreams: without streams the connection closes as
// soon as the shutdown's round trip is done.
func TestMaxConnectionAgeNoStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		srv, p := rawClient(t, &Config{MaxConnectionAge: time.Minute}, hold)
		ch := collect(p, start)
		srv.ka.mu.Lock()
		at := srv.ka.ageAt.Sub(start)
		srv.ka.mu.Unlock()
		expectGracefulGoAway(t, p, ch, at, "max_age", 0)
		awaitClosed(t, srv)
		if got := time.Since(start); got != at {
			t.Errorf("closed at %v, want %v", got, at)
		}
	})
}

// TestAgeJitter: the jitter stays within ±10 % and is not constant.
func TestAgeJitter(t *testing.T) {
	const d = time.Minute
	seen := map[time.Duration]bool{}
	for range 1000 {
		j := ageJitter(d)
		if j < -d/10 || j > d/10 {
			t.Fatalf("jitter %v for %v", j, d)
		}
		seen[j] = true
	}
	if len(seen) < 100 {
		t.Errorf("%d distinct jitters in 1000", len(seen))
	}
	if j := ageJitter(5); j != 0 {
		t.Errorf("jitter %v for 5ns", j)
	}
}

// TestPingPolicy checks the enforcement policy's strikes: a PING sooner than
// MinTime after the previous one, or any while no stream is open unless
// permitted, is a strike, and the third strike closes the connection with
// GOAWAY ENHANCE_YOUR_CALM "too_many_pings"; a client within the policy is
// never closed, not even by a small OverheadBudget.
func TestPingPolicy(t *testing.T) {
	const minTime = 5 * time.Minute
	for _, tc := range []struct {
		name     string
		permit   bool
		stream   bool          // a stream is open while the client pings
		interval time.Duration // between PINGs
		closedAt int           // PING (from 1) that is answered with GOAWAY; 0 for none of 20
	}{
		{"no-stream/not-permitted/often", false, false, time.Minute, 4},
		{"no-stream/not-permitted/at-MinTime", false, false, minTime, 4},
		{"no-stream/not-permitted/every-2h", false, false, 2 * time.Hour, 0},
		{"no-stream/permitted/at-MinTime", true, false, minTime, 0},
		{"no-stream/permitted/too-often", true, false, minTime - time.Second, 4},
		{"stream/at-MinTime", false, true, minTime, 0},
		{"stream/too-often", false, true, time.Minute, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				cfg := &Config{PingPolicyMinTime: minTime, PingPolicyPermitWithoutStream: tc.permit, OverheadBudget: 2}
				srv, p := rawClient(t, cfg, hold)
				ch := collect(p, start)
				if tc.stream {
					if err := p.WriteHeaderBlock(1, false, requestKV("/test")...); err != nil {
						t.Fatal(err)
					}
					// Opening the stream forgives; the PINGs after it are judged.
					if err := p.WritePing(false, [8]byte{0}); err != nil {
						t.Fatal(err)
					}
				}
				for i := 1; i <= 20; i++ {
					time.Sleep(tc.interval)
					if err := p.WritePing(false, [8]byte{byte(i)}); err != nil {
						t.Fatal(err)
					}
					synctest.Wait()
					closed := srv.Err() != nil
					if want := i == tc.closedAt; closed != want {
						t.Fatalf("after PING %d: closed %v (%v), want %v", i, closed, srv.Err(), want)
					}
					if closed {
						break
					}
				}
				if tc.closedAt == 0 {
					return
				}
				ga, ok := next(ch, http2.FrameGoAway)
				if !ok || ga.code != http2.ErrCodeEnhanceYourCalm || ga.debug != "too_many_pings" {
					t.Fatalf("GOAWAY %+v (ok %v), want ENHANCE_YOUR_CALM too_many_pings", ga, ok)
				}
			})
		})
	}
}

// TestPingPolicyForgivenByWork: strikes are forgiven when the server has
// sent data, or the client opened a stream, since the previous PING.
func TestPingPolicyForgivenByWork(t *testing.T) {
	for _, work := range []string{"data", "stream"} {
		t.Run(work, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				more := make(chan struct{})
				srv, p := rawClient(t, &Config{PingPolicyMinTime: time.Hour}, func(s *Stream) {
					s.WriteHeaders(okResponse, false, true)
					for range more {
						s.WriteData([]byte("x"), false, true)
					}
				})
				ch := collect(p, time.Now())
				defer close(more)
				if err := p.WriteHeaderBlock(1, false, requestKV("/test")...); err != nil {
					t.Fatal(err)
				}
				for i := range 20 {
					time.Sleep(time.Second)
					if work == "data" {
						more <- struct{}{}
					} else if err := p.WriteHeaderBlock(uint32(2*i+3), true, requestKV("/test")...); err != nil {
						t.Fatal(err)
					}
					synctest.Wait()
					if err := p.WritePing(false, [8]byte{byte(i)}); err != nil {
						t.Fatal(err)
					}
					synctest.Wait()
					if err := srv.Err(); err != nil {
						t.Fatalf("closed after PING %d: %v", i, err)
					}
				}
				_ = ch
			})
		})
	}
}

// TestConfigValidate: negative durations are refused by NewClientConn and
// close a server connection at once with a GOAWAY that names the field.
func TestConfigValidate(t *testing.T) {
	for _, cfg := range []*Config{
		{KeepaliveTime: -1}, {KeepaliveTimeout: -1}, {MaxConnectionIdle: -1},
		{MaxConnectionAge: -1}, {MaxConnectionAgeGrace: -1}, {PingPolicyMinTime: -1},
	} {
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "is negative") {
			t.Errorf("Validate(%+v) = %v", cfg, err)
		}
	}
	if err := (&Config{KeepaliveTime: time.Second}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	if err := (*Config)(nil).Validate(); err != nil {
		t.Errorf("nil config: %v", err)
	}
	synctest.Test(t, func(t *testing.T) {
		cnc, snc := net.Pipe()
		defer snc.Close()
		if _, err := NewClientConn(cnc, &Config{KeepaliveTimeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "KeepaliveTimeout is negative") {
			t.Errorf("NewClientConn: %v", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		cnc, snc := net.Pipe()
		p := frametest.NewPeer(cnc)
		debug := make(chan string, 1)
		go func() {
			ga, err := p.ExpectGoAway(http2.ErrCodeInternal)
			if err != nil {
				debug <- err.Error()
				return
			}
			debug <- string(ga.DebugData())
		}()
		srv := NewServerConn(snc, &Config{MaxConnectionAge: -time.Second}, hold)
		defer func() { cnc.Close(); srv.Close(); srv.Wait() }()
		if got := <-debug; !strings.Contains(got, "MaxConnectionAge is negative") {
			t.Errorf("GOAWAY debug data %q", got)
		}
	})
}
