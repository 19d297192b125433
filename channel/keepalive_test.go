package channel

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/keepalive"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/frame/frametest"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stream"
	"golang.org/x/net/http2"
)

// TestWithKeepaliveParams: the option fills the connection configuration,
// raising Time to 10 s as grpc-go does, and keeps what WithConnConfig set
// before it.
func TestWithKeepaliveParams(t *testing.T) {
	for _, tc := range []struct {
		in       keepalive.ClientParameters
		wantTime time.Duration
	}{
		{keepalive.ClientParameters{}, 10 * time.Second},
		{keepalive.ClientParameters{Time: -time.Minute}, 10 * time.Second},
		{keepalive.ClientParameters{Time: 9 * time.Second}, 10 * time.Second},
		{keepalive.ClientParameters{Time: time.Minute, Timeout: time.Second, PermitWithoutStream: true}, time.Minute},
	} {
		var o dialOptions
		WithConnConfig(stream.Config{MaxConcurrentStreams: 7})(&o)
		WithKeepaliveParams(tc.in)(&o)
		c := o.connCfg
		if c.KeepaliveTime != tc.wantTime || c.KeepaliveTimeout != tc.in.Timeout || c.KeepalivePermitWithoutStream != tc.in.PermitWithoutStream || c.MaxConcurrentStreams != 7 {
			t.Errorf("%+v: config %+v", tc.in, c)
		}
	}
}

// TestKeepaliveTimeoutFailsCallsUnavailable: a server that stops answering
// fails the call in progress with UNAVAILABLE, saying the keepalive ping
// was not acknowledged, at Time+Timeout.
func TestKeepaliveTimeoutFailsCallsUnavailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cnc, snc := net.Pipe()
		p := frametest.NewPeer(snc)
		p.Timeout = time.Hour
		go func() {
			if p.Handshake(false) != nil {
				return
			}
			for { // reads everything, answers nothing
				if _, err := p.ReadFrame(); err != nil {
					return
				}
			}
		}()
		cc, err := NewClient("passthrough:///x",
			WithTransportCredentials(insecure.NewCredentials()),
			WithContextDialer(func(context.Context, string) (net.Conn, error) { return cnc, nil }),
			WithKeepaliveParams(keepalive.ClientParameters{Time: time.Minute, Timeout: 5 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { cc.Close(); snc.Close() }()
		start := time.Now()
		_, err = cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
		if got := time.Since(start); got != time.Minute+5*time.Second {
			t.Errorf("call failed after %v, want 1m5s", got)
		}
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "keepalive ping not acknowledged") {
			t.Errorf("call error %v, want UNAVAILABLE keepalive ping not acknowledged", err)
		}
	})
}

// TestKeepaliveNegativeTimeout: a negative Timeout is refused by every
// connection attempt, with an error that names it.
func TestKeepaliveNegativeTimeout(t *testing.T) {
	// Keepalive values out of range are a clear error from NewClient.
	_, err := NewClient("127.0.0.1:1", WithTransportCredentials(insecure.NewCredentials()),
		WithKeepaliveParams(keepalive.ClientParameters{Timeout: -time.Second}))
	if err == nil || !strings.Contains(err.Error(), "KeepaliveTimeout is negative") {
		t.Errorf("NewClient error %v", err)
	}
}

// TestTooManyPingsDoublesKeepalive: after a server's GOAWAY
// ENHANCE_YOUR_CALM "too_many_pings", the channel's next connections ping
// half as often (gRFC A8).
func TestTooManyPingsDoublesKeepalive(t *testing.T) {
	leakcheck.Check(t)
	toldOff := make(chan struct{}, 1)
	var dials atomic.Int32
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		cnc, snc := net.Pipe()
		first := dials.Add(1) == 1
		go func() {
			defer snc.Close()
			p := frametest.NewPeer(snc)
			if p.Handshake(false) != nil {
				return
			}
			for {
				f, err := p.ReadFrame()
				if err != nil {
					return
				}
				// Only the first connection is told off, once a call
				// shows it in use; the channel's next ones are left alone.
				if _, ok := f.(*http2.HeadersFrame); ok && first {
					p.WriteGoAway(0, http2.ErrCodeEnhanceYourCalm, []byte("too_many_pings"))
					toldOff <- struct{}{}
				}
			}
		}()
		return cnc, nil
	}
	cc := newTestClient(t, "passthrough:///pings", WithContextDialer(dialer),
		WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second}))
	ctx, cancel := context.WithCancel(bg())
	called := make(chan struct{})
	go func() {
		defer close(called)
		// Moved to the second connection, where it is never answered.
		cc.Invoke(ctx, "/a/b", msg("x"), nil, nil, nil, nil)
	}()
	defer func() { cancel(); <-called }()
	within(t, "GOAWAY", toldOff)
	// pick_first goes IDLE when its connection goes away; connecting again
	// makes the next connection, after the doubling.
	for deadline := time.Now().Add(5 * time.Second); dials.Load() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no second connection")
		}
		cc.Connect()
	}
	cc.mu.Lock()
	got := cc.kaTime
	cc.mu.Unlock()
	if got != 20*time.Second {
		t.Fatalf("keepalive time %v after one too_many_pings, want 20s", got)
	}
}
