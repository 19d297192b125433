package channel

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
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
