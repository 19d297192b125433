package channel

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stream"
)

// TestServerDeadlineOnTime: a call with grpc-timeout 30S has its handler's
// context end with DeadlineExceeded at exactly 30 s, and the client gets
// DEADLINE_EXCEEDED trailers at that instant; timed by the bubble's clock.
func TestServerDeadlineOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cnc, snc := net.Pipe()
		start := time.Now()
		ended := make(chan time.Duration, 1)
		scc := make(chan *ServerConn, 1)
		// Each side's preface write waits for the other to read (net.Pipe).
		go func() {
			scc <- ServeConn(snc, nil, nil, func(ss *ServerStream) {
				<-ss.Done()
				if ss.Err() == context.DeadlineExceeded {
					ended <- time.Since(start)
				}
			})
		}()
		cc, err := stream.NewClientConn(cnc, nil)
		sc := <-scc
		defer func() { sc.Close(); sc.Wait() }()
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		st, err := cc.NewStream(bg(), fields(":method", "POST", ":scheme", "http", ":path", "/a/b", ":authority", "x",
			"content-type", "application/grpc", "te", "trailers", "grpc-timeout", "30S"), false)
		if err != nil {
			t.Fatal(err)
		}
		h, err := st.Header()
		got := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if got != 30*time.Second {
			t.Errorf("trailers after %v, want 30s", got)
		}
		if err := trailerStatus(h); status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("status %v, want DeadlineExceeded", err)
		}
		if d := <-ended; d != 30*time.Second {
			t.Errorf("handler's context ended after %v, want 30s", d)
		}
	})
}

// TestIdleMode: a channel with no call for its idle timeout closes its
// connections and goes IDLE (between one and two timeouts after the last
// call); the next call connects again. On the bubble's clock.
func TestIdleMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var servers []*ServerConn
		dials := 0
		dialer := func(ctx context.Context, addr string) (net.Conn, error) {
			cnc, snc := net.Pipe()
			mu.Lock()
			dials++
			mu.Unlock()
			go func() {
				sc := ServeConn(snc, nil, nil, echoHandler)
				mu.Lock()
				servers = append(servers, sc)
				mu.Unlock()
			}()
			return cnc, nil
		}
		cc, err := NewClient("passthrough:///idle", WithTransportCredentials(insecure.NewCredentials()),
			WithContextDialer(dialer), WithIdleTimeout(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			cc.Close()
			mu.Lock()
			defer mu.Unlock()
			for _, sc := range servers {
				sc.Close()
				sc.Wait()
			}
		}()
		if got := cc.GetState(); got != connectivity.Idle {
			t.Fatalf("new channel %v", got)
		}
		call := func() {
			t.Helper()
			if reply, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil); err != nil || string(reply) != "x" {
				t.Fatalf("call: %q, %v", reply, err)
			}
		}
		call()
		time.Sleep(119 * time.Second)
		synctest.Wait()
		if got := cc.GetState(); got != connectivity.Ready {
			t.Fatalf("state %v before two idle timeouts, want READY", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := cc.GetState(); got != connectivity.Idle {
			t.Fatalf("state %v after two idle timeouts without calls, want IDLE", got)
		}
		mu.Lock()
		for i, sc := range servers {
			select {
			case <-sc.Done():
			default:
				t.Errorf("server connection %d still open in idle mode", i)
			}
		}
		mu.Unlock()
		call()
		mu.Lock()
		n := dials
		mu.Unlock()
		if n != 2 || cc.GetState() != connectivity.Ready {
			t.Fatalf("after idle: %d dials, state %v; want 2 and READY", n, cc.GetState())
		}
	})
}

// TestReconnectBackoff: a subchannel whose connections fail waits gRPC's
// backoff between attempts: 1 s, then ×1.6 each time, ±20 %, on the
// bubble's clock.
func TestReconnectBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Duration
		start := time.Now()
		dialer := func(ctx context.Context, addr string) (net.Conn, error) {
			mu.Lock()
			at = append(at, time.Since(start))
			mu.Unlock()
			return nil, errors.New("down on purpose")
		}
		cc, err := NewClient("passthrough:///down", WithTransportCredentials(insecure.NewCredentials()), WithContextDialer(dialer))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		cc.Connect()
		time.Sleep(15 * time.Second) // past the fifth attempt, whatever the jitter
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		// Attempts at 0, then after 1 s, 1.6 s, 2.56 s, 4.096 s (each ±20 %).
		want := []time.Duration{time.Second, 1600 * time.Millisecond, 2560 * time.Millisecond, 4096 * time.Millisecond}
		if len(at) < len(want)+1 {
			t.Fatalf("attempts at %v, want at least %d", at, len(want)+1)
		}
		if at[0] != 0 {
			t.Errorf("first attempt at %v, want at once", at[0])
		}
		for i, w := range want {
			gap := at[i+1] - at[i]
			if gap < w*8/10 || gap > w*12/10 {
				t.Errorf("gap %d is %v, want %v ± 20 %% (attempts %v)", i+1, gap, w, at)
			}
		}
	})
}
