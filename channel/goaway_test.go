package channel

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/h2rpc/h2rpc/frame/frametest"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

// TestGoAwayUnprocessedRetried: a call on a stream above the last stream
// ID of the server's GOAWAY was not processed (PROTOCOL-HTTP2, RFC 9113
// §6.8); it is sent again, transparently, on a new connection.
func TestGoAwayUnprocessedRetried(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	dials := 0
	var wg sync.WaitGroup
	var servers []*ServerConn
	var pipes []net.Conn
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		cnc, snc := net.Pipe()
		mu.Lock()
		defer mu.Unlock()
		dials++
		pipes = append(pipes, snc)
		if dials > 1 {
			// ServeConn writes its SETTINGS at once, and a pipe holds
			// nothing: start it beside the client.
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc := ServeConn(snc, nil, nil, echoHandler)
				mu.Lock()
				servers = append(servers, sc)
				mu.Unlock()
			}()
			return cnc, nil
		}
		// The first server refuses everything with GOAWAY(last=0).
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := frametest.NewPeer(snc)
			if err := p.Handshake(false); err != nil {
				return
			}
			for {
				f, err := p.ReadFrame()
				if err != nil {
					return
				}
				if _, ok := f.(*http2.HeadersFrame); ok {
					p.WriteGoAway(0, http2.ErrCodeNo, []byte("going away"))
				}
			}
		}()
		return cnc, nil
	}
	cc := newTestClient(t, "passthrough:///test:1", WithContextDialer(dialer))
	ctx, cancel := context.WithTimeout(bg(), 2*time.Second)
	defer cancel()
	reply, err := cc.Invoke(ctx, "/a/b", msg("again"), nil, nil, nil, nil)
	if err != nil || string(reply) != "again" {
		t.Fatalf("reply %q, %v", reply, err)
	}
	cc.Close()
	mu.Lock()
	for _, p := range pipes {
		p.Close()
	}
	mu.Unlock()
	wg.Wait()
	for _, s := range servers {
		s.Close()
		s.Wait()
	}
	if dials != 2 {
		t.Fatalf("%d dials, want 2", dials)
	}
}
