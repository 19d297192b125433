package channel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/peer"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/hpack"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stream"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestUnaryEcho(t *testing.T) {
	cc := setup(t, echoHandler)
	for _, m := range []string{"", "x", strings.Repeat("y", 100<<10)} {
		reply, err := cc.Invoke(bg(), "/a/b", msg(m), nil, nil, nil, nil)
		if err != nil || string(reply) != m {
			t.Fatalf("reply %d bytes, %v; want %d", len(reply), err, len(m))
		}
	}
}

func TestStreamingEcho(t *testing.T) {
	cc := setup(t, echoHandler)
	cs, err := cc.NewStream(bg(), "/a/b", nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for i := range 50 {
		m := strings.Repeat("z", i*1000)
		if err := cs.SendMsg(msg(m)); err != nil {
			t.Fatal(err)
		}
		if buf, err = cs.RecvMsg(buf); err != nil || string(buf) != m {
			t.Fatalf("message %d: %d bytes, %v", i, len(buf), err)
		}
	}
	cs.CloseSend()
	if _, err := cs.RecvMsg(buf); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

// TestServerFirst: a server that answers before the client sends
// anything; the client's headers must leave when it starts reading.
func TestServerFirst(t *testing.T) {
	cc := setup(t, func(ss *ServerStream) {
		ss.SendMsg(msg("hello"))
		ss.Finish(nil)
	})
	cs, err := cc.NewStream(bg(), "/a/b", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cs.RecvMsg(nil)
	if err != nil || string(m) != "hello" {
		t.Fatalf("%q %v", m, err)
	}
	if _, err := cs.RecvMsg(nil); err != io.EOF {
		t.Fatal(err)
	}
}

func TestMetadataBothWays(t *testing.T) {
	cc := setup(t, func(ss *ServerStream) {
		md, _ := metadata.FromIncomingContext(ss.Context())
		if _, ok := peer.FromContext(ss.Context()); !ok {
			ss.Finish(status.New(codes.Internal, "no peer"))
			return
		}
		if ServerStreamFromContext(ss.Context()) != ss {
			ss.Finish(status.New(codes.Internal, "no stream in context"))
			return
		}
		ss.SetHeader(metadata.Pairs("h", md.Get("k")[0], "hb-bin", md.Get("kb-bin")[0]))
		ss.SetTrailer(metadata.Pairs("t", "trailer", "tb-bin", "\xff\x00"))
		ss.RecvMsg(nil)
		ss.SendMsg(msg("r"))
		ss.Finish(nil)
	})
	ctx := metadata.AppendToOutgoingContext(bg(), "k", "v1", "kb-bin", "\x00\xfe")
	var header, trailer metadata.MD
	reply, err := cc.Invoke(ctx, "/a/b", msg("x"), nil, nil, &header, &trailer)
	if err != nil || string(reply) != "r" {
		t.Fatal(reply, err)
	}
	if header.Get("h")[0] != "v1" || header.Get("hb-bin")[0] != "\x00\xfe" {
		t.Errorf("header %v", header)
	}
	if trailer.Get("t")[0] != "trailer" || trailer.Get("tb-bin")[0] != "\xff\x00" {
		t.Errorf("trailer %v", trailer)
	}
}

func TestStatusAndDetails(t *testing.T) {
	detail := durationpb.New(3 * time.Second)
	cc := setup(t, func(ss *ServerStream) {
		st, _ := status.New(codes.FailedPrecondition, "bad \t\ntäst 100%").WithDetails(detail)
		ss.Finish(st)
	})
	_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
	st := status.Convert(err)
	if st.Code() != codes.FailedPrecondition || st.Message() != "bad \t\ntäst 100%" {
		t.Fatalf("%v", st)
	}
	d := st.Details()
	if len(d) != 1 || d[0].(*durationpb.Duration).AsDuration() != 3*time.Second {
		t.Fatalf("details %v", d)
	}
}

func TestDeadlineBothSides(t *testing.T) {
	serverErr := make(chan error, 1)
	cc := setup(t, func(ss *ServerStream) {
		<-ss.Context().Done()
		serverErr <- ss.Context().Err()
	})
	ctx, cancel := context.WithTimeout(bg(), 100*time.Millisecond)
	defer cancel()
	_, err := cc.Invoke(ctx, "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.DeadlineExceeded)
	select {
	case err := <-serverErr:
		// The client's RST_STREAM may arrive just before the server's
		// own timer fires; either way the handler's context ended.
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			t.Fatalf("server context: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server context not done")
	}
}

// TestServerEnforcesDeadline: with a deadline the client does not enforce
// (a raw client), the server ends the call with DEADLINE_EXCEEDED itself.
func TestServerEnforcesDeadline(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil, func(ss *ServerStream) {
		<-ss.Context().Done()
	})
	c := rawClient(t, s.addr())
	st, err := c.NewStream(bg(), grpcRequest("/a/b", "grpc-timeout", "50m"), false)
	if err != nil {
		t.Fatal(err)
	}
	st.WriteData(msg("x"), true, true)
	io.Copy(io.Discard, st)
	if err := trailerStatus(st.Trailer()); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("trailers %v: %v", st.Trailer(), err)
	}
}

func TestCancelBothSides(t *testing.T) {
	serverErr := make(chan error, 1)
	started := make(chan struct{})
	cc := setup(t, func(ss *ServerStream) {
		close(started)
		<-ss.Context().Done()
		serverErr <- ss.Context().Err()
	})
	ctx, cancel := context.WithCancel(bg())
	go func() {
		<-started
		cancel()
	}()
	_, err := cc.Invoke(ctx, "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.Canceled)
	select {
	case err := <-serverErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("server context: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server context not done")
	}
}

// TestHandlerEndsCall: a server that finishes while the client still
// streams ends the call on the client.
func TestHandlerEndsCall(t *testing.T) {
	cc := setup(t, func(ss *ServerStream) {
		ss.RecvMsg(nil)
		ss.Finish(status.New(codes.Aborted, "enough"))
	})
	cs, err := cc.NewStream(bg(), "/a/b", nil)
	if err != nil {
		t.Fatal(err)
	}
	cs.SendMsg(msg("1"))
	_, err = cs.RecvMsg(nil)
	wantCode(t, err, codes.Aborted)
	if err := cs.SendMsg(msg("2")); err != io.EOF && status.Code(err) != codes.Internal {
		// Either the stream is seen as ended (io.EOF) or sending is refused.
		t.Fatalf("send after end: %v", err)
	}
}

func TestCompression(t *testing.T) {
	var compressed []bool
	cc := setup(t, func(ss *ServerStream) {
		var buf []byte
		for {
			m, err := ss.RecvMsg(buf)
			if err != nil {
				ss.Finish(nil)
				return
			}
			compressed = append(compressed, ss.LastRecvCompressed())
			ss.SendMsg(append(make([]byte, MsgHeaderLen), m...))
			buf = m
		}
	})
	big := strings.Repeat("compressible ", 1000)
	reply, err := cc.Invoke(bg(), "/a/b", msg(big), nil, &CallOptions{Compressor: "gzip"}, nil, nil)
	if err != nil || string(reply) != big {
		t.Fatalf("%d bytes, %v", len(reply), err)
	}
	cs, err := cc.NewStream(bg(), "/a/b", &CallOptions{Compressor: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	cs.SendMsg(msg(big))
	m, err := cs.RecvMsg(nil)
	if err != nil || string(m) != big || !cs.LastRecvCompressed() {
		t.Fatalf("%d bytes, %v, compressed %v", len(m), err, cs.LastRecvCompressed())
	}
	cs.SetMessageCompression(false)
	cs.SendMsg(msg("plain"))
	cs.RecvMsg(nil)
	cs.CloseSend()
	if _, err := cs.RecvMsg(nil); err != io.EOF {
		t.Fatal(err)
	}
	if want := []bool{true, true, false}; !slices.Equal(compressed, want) {
		t.Fatalf("server saw compressed %v, want %v", compressed, want)
	}
}

func TestMessageSizeLimits(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, &ServerConfig{MaxRecvMsgSize: 1000}, echoHandler)
	cc := newTestClient(t, s.addr(), WithMaxRecvMsgSize(500))
	_, err := cc.Invoke(bg(), "/a/b", msg(strings.Repeat("x", 1001)), nil, nil, nil, nil)
	wantCode(t, err, codes.ResourceExhausted) // server refuses
	_, err = cc.Invoke(bg(), "/a/b", msg(strings.Repeat("x", 600)), nil, nil, nil, nil)
	wantCode(t, err, codes.ResourceExhausted) // client refuses the reply
	_, err = cc.Invoke(bg(), "/a/b", msg(strings.Repeat("x", 600)), nil, &CallOptions{MaxSendMsgSize: 100}, nil, nil)
	wantCode(t, err, codes.ResourceExhausted) // client refuses to send
	// A gzip bomb within the wire limit but over it once decompressed.
	bomb := msg(strings.Repeat("\x00", 100<<10))
	_, err = cc.Invoke(bg(), "/a/b", bomb, nil, &CallOptions{Compressor: "gzip"}, nil, nil)
	wantCode(t, err, codes.ResourceExhausted)
}

// rawClient connects a stream-level client to addr.
func rawClient(t *testing.T, addr string) *stream.Conn {
	t.Helper()
	nc, err := dialTCP(addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := stream.NewClientConn(nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); c.Wait() })
	return c
}

func grpcRequest(path string, extra ...string) []hpack.HeaderField {
	return append(fields(":method", "POST", ":scheme", "http", ":path", path, ":authority", "x",
		"content-type", "application/grpc", "te", "trailers"), fields(extra...)...)
}

// TestServerRequestErrors checks the exact Trailers-Only answers to bad
// requests.
func TestServerRequestErrors(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil, echoHandler)
	for _, tc := range []struct {
		name    string
		headers []hpack.HeaderField
		body    []byte
		want    string
	}{
		{"unknown encoding", grpcRequest("/a/b", "grpc-encoding", "br"), msg("x"),
			":status: 200\ncontent-type: application/grpc\ngrpc-status: 12\ngrpc-message: grpc: Decompressor is not installed for grpc-encoding \"br\"\ngrpc-accept-encoding: gzip\n"},
		{"compressed flag without encoding", grpcRequest("/a/b"), []byte{1, 0, 0, 0, 1, 'x'},
			":status: 200\ncontent-type: application/grpc\ngrpc-status: 13\ngrpc-message: grpc: compressed flag set on a message, but no grpc-encoding was negotiated\n"},
		{"malformed timeout", grpcRequest("/a/b", "grpc-timeout", "1x"), msg("x"),
			":status: 200\ncontent-type: application/grpc\ngrpc-status: 13\ngrpc-message: malformed grpc-timeout \"1x\"\n"},
		{"malformed method", grpcRequest("/ab"), msg("x"),
			":status: 200\ncontent-type: application/grpc\ngrpc-status: 12\ngrpc-message: malformed method name: \"/ab\"\n"},
		{"json subtype", append(grpcRequest("/a/b")[:4], fields("content-type", "application/grpc+json", "grpc-timeout", "1x")...), msg("x"),
			":status: 200\ncontent-type: application/grpc+json\ngrpc-status: 13\ngrpc-message: malformed grpc-timeout \"1x\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rawClient(t, s.addr())
			st, err := c.NewStream(bg(), tc.headers, false)
			if err != nil {
				t.Fatal(err)
			}
			st.WriteData(tc.body, true, true)
			io.Copy(io.Discard, st)
			got := st.Trailer()
			if !st.TrailersOnly() {
				h, _ := st.Header()
				got = append(append([]hpack.HeaderField(nil), h...), got...)
			}
			if g := fieldsString(got); g != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", g, tc.want)
			}
		})
	}
}

func TestNonGRPCRequests(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil, echoHandler)
	c := rawClient(t, s.addr())
	for _, tc := range []struct {
		method, ct string
		status     string
	}{
		{"GET", "application/grpc", "405"},
		{"POST", "application/json", "415"},
		{"PUT", "text/plain", "405"},
	} {
		st, err := c.NewStream(bg(), fields(":method", tc.method, ":scheme", "http", ":path", "/", ":authority", "x", "content-type", tc.ct), true)
		if err != nil {
			t.Fatal(err)
		}
		st.Header()
		body, _ := io.ReadAll(st)
		if got := strconv.Itoa(st.Status()); got != tc.status || !bytes.Contains(body, []byte("gRPC")) {
			t.Errorf("%s %s: %s %q", tc.method, tc.ct, got, body)
		}
	}
}

// TestGracefulShutdown: calls in flight finish, new ones go elsewhere or
// fail UNAVAILABLE.
func TestGracefulShutdown(t *testing.T) {
	leakcheck.Check(t)
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	s := startServer(t, nil, func(ss *ServerStream) {
		started <- struct{}{}
		<-release
		echoHandler(ss)
	})
	cc := newTestClient(t, s.addr())
	done := make(chan error, 1)
	go func() {
		_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
		done <- err
	}()
	<-started
	s.ln.Close()
	s.mu.Lock()
	sc := s.conns[0]
	s.mu.Unlock()
	shut := make(chan error, 1)
	go func() { shut <- sc.Shutdown(bg()) }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("in-flight call: %v", err)
	}
	<-shut
	_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.Unavailable)
}
