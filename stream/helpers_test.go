package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"io"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/frame/frametest"
	"github.com/h2rpc/h2rpc/hpack"
	"golang.org/x/net/http2"
)

// testTimeout bounds every wait in the tests of this package.
const testTimeout = 10 * time.Second

// transport makes the two ends of a connection.
type transport struct {
	name string
	pair func(t testing.TB) (client, server net.Conn)
}

var transports = []transport{
	{"pipe", pipePair},
	{"tcp", tcpPair},
}

func pipePair(t testing.TB) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func tcpPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		c   net.Conn
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		accepted <- result{c, err}
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-accepted
	if r.err != nil {
		client.Close()
		t.Fatal(r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return client, r.c
}

// forTransports runs f as a subtest over every transport.
func forTransports(t *testing.T, f func(t *testing.T, tr transport)) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) { f(t, tr) })
	}
}

// startPair connects our client to our server over tr. The connections are
// closed, and the leak check runs, when the test ends.
func startPair(t testing.TB, tr transport, ccfg, scfg *Config, h Handler) (client, server *Conn) {
	t.Helper()
	leakcheck.Check(t)
	cnc, snc := tr.pair(t)
	// Both ends write their preface at once; on a synchronous transport
	// each write waits for the other end to read.
	sc := make(chan *Conn, 1)
	go func() { sc <- NewServerConn(snc, scfg, h) }()
	client, err := NewClientConn(cnc, ccfg)
	server = <-sc
	t.Cleanup(func() {
		if client != nil {
			client.Close()
			waitConn(t, client)
		}
		server.Close()
		waitConn(t, server)
	})
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

// waitConn waits for c's goroutines to end, failing the test past testTimeout.
func waitConn(t testing.TB, c *Conn) {
	t.Helper()
	done := make(chan struct{})
	go func() { c.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(testTimeout):
		t.Errorf("connection goroutines still running after %v", testTimeout)
	}
}

// rawClient serves a raw client Peer with our server, after the handshake
// (the Peer announces settings).
func rawClient(t testing.TB, cfg *Config, h Handler, settings ...http2.Setting) (*Conn, *frametest.Peer) {
	t.Helper()
	leakcheck.Check(t)
	cnc, snc := net.Pipe()
	p := frametest.NewPeer(cnc)
	errc := make(chan error, 1)
	go func() { errc <- p.Handshake(true, settings...) }()
	srv := NewServerConn(snc, cfg, h)
	t.Cleanup(func() {
		cnc.Close()
		srv.Close()
		waitConn(t, srv)
	})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return srv, p
}

// rawServer connects our client to a raw server Peer, after the handshake.
func rawServer(t testing.TB, cfg *Config, settings ...http2.Setting) (*Conn, *frametest.Peer) {
	t.Helper()
	leakcheck.Check(t)
	cnc, snc := net.Pipe()
	p := frametest.NewPeer(snc)
	errc := make(chan error, 1)
	go func() { errc <- p.Handshake(false, settings...) }()
	cli, err := NewClientConn(cnc, cfg)
	t.Cleanup(func() {
		snc.Close()
		if cli != nil {
			cli.Close()
			waitConn(t, cli)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return cli, p
}

// request returns the header list of a POST to path.
func request(path string, extra ...string) []hpack.HeaderField {
	f := []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "test"},
		{Name: ":path", Value: path},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		f = append(f, hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
	}
	return f
}

// requestKV is request as name, value pairs for a raw Peer.
func requestKV(path string, extra ...string) []string {
	var kv []string
	for _, f := range request(path, extra...) {
		kv = append(kv, f.Name, f.Value)
	}
	return kv
}

var (
	okResponse = []hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}
	okTrailers = []hpack.HeaderField{{Name: "grpc-status", Value: "0"}}
)

// echo is a handler that answers with the request body and trailers.
func echo(s *Stream) {
	body, err := io.ReadAll(s)
	if err != nil {
		return
	}
	if s.WriteHeaders(okResponse, false, false) != nil {
		return
	}
	if s.WriteData(body, false, false) != nil {
		return
	}
	s.WriteHeaders(okTrailers, true, true)
}

// roundTrip sends body on a new stream of c and returns the response body
// and trailers.
func roundTrip(ctx context.Context, c *Conn, body []byte) ([]byte, []hpack.HeaderField, error) {
	s, err := c.NewStream(ctx, request("/echo"), false)
	if err != nil {
		return nil, nil, err
	}
	werr := make(chan error, 1)
	go func() { werr <- s.WriteData(body, true, true) }()
	if _, err := s.Header(); err != nil {
		return nil, nil, err
	}
	got, err := io.ReadAll(s)
	if err != nil {
		return nil, nil, err
	}
	if err := <-werr; err != nil {
		return nil, nil, err
	}
	return got, s.Trailer(), nil
}

// pattern returns n bytes that differ between offsets.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func checkBody(got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("body of %d bytes differs from the %d sent", len(got), len(want))
	}
	return nil
}

// within waits for ch, failing the test past testTimeout.
func within[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// asReset returns the *ResetError in err, or fails.
func asReset(err error) (*ResetError, bool) {
	var re *ResetError
	ok := errors.As(err, &re)
	return re, ok
}
