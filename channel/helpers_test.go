package channel

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

// testServer accepts loopback connections and serves them with h.
type testServer struct {
	ln    net.Listener
	cfg   ServerConfig
	h     ServerHandler
	mu    sync.Mutex
	conns []*ServerConn
	wg    sync.WaitGroup
}

func startServer(t testing.TB, cfg *ServerConfig, h ServerHandler) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ln: ln, h: h}
	if cfg != nil {
		s.cfg = *cfg
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			sc := ServeConn(nc, &s.cfg, nil, s.h)
			s.mu.Lock()
			s.conns = append(s.conns, sc)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *testServer) addr() string { return s.ln.Addr().String() }

func (s *testServer) stop() {
	s.ln.Close()
	s.wg.Wait()
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
		c.Wait()
	}
}

func newTestClient(t testing.TB, addr string, opts ...DialOption) *ClientConn {
	t.Helper()
	cc, err := NewClient(addr, append([]DialOption{WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// setup starts a server with h and a client connected to it, checking for
// leaked goroutines at the end.
func setup(t *testing.T, h ServerHandler, opts ...DialOption) *ClientConn {
	t.Helper()
	leakcheck.Check(t)
	s := startServer(t, nil, h)
	return newTestClient(t, s.addr(), opts...)
}

// msg returns a send buffer holding m after the reserved prefix.
func msg(m string) []byte { return append(make([]byte, MsgHeaderLen), m...) }

// echoHandler sends back every message, then OK.
func echoHandler(ss *ServerStream) {
	var buf []byte
	for {
		m, err := ss.RecvMsg(buf)
		if err == io.EOF {
			ss.Finish(nil)
			return
		}
		if err != nil {
			ss.Finish(status.Convert(err))
			return
		}
		out := append(make([]byte, MsgHeaderLen, MsgHeaderLen+len(m)), m...)
		if err := ss.SendMsg(out); err != nil {
			return
		}
		buf = m
	}
}

func wantCode(t testing.TB, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("status %v (%v), want %v", got, err, want)
	}
}

func within[T any](t testing.TB, what string, ch <-chan T) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func bg() context.Context { return context.Background() }

func dialTCP(addr string) (net.Conn, error) { return net.Dial("tcp", addr) }
