package channel

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stream"
)

// rawServer serves HTTP/2 streams with h, below the gRPC layer, so tests
// can see and write exactly what they want.
func rawServer(t *testing.T, h stream.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []*stream.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, stream.NewServerConn(nc, nil, h))
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
			c.Wait()
		}
	})
	return ln.Addr().String()
}

func fields(kv ...string) []hpack.HeaderField {
	var f []hpack.HeaderField
	for i := 0; i < len(kv); i += 2 {
		f = append(f, hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return f
}

func fieldsString(f []hpack.HeaderField) string {
	var b strings.Builder
	for _, hf := range f {
		b.WriteString(hf.Name + ": " + hf.Value + "\n")
	}
	return b.String()
}

// TestRequestHeaders checks the exact header list of a request
// (PROTOCOL-HTTP2 "Requests"): pseudo-headers first, then the gRPC
// headers, then metadata with binary values base64-encoded unpadded.
func TestRequestHeaders(t *testing.T) {
	leakcheck.Check(t)
	got := make(chan []hpack.HeaderField, 1)
	addr := rawServer(t, func(st *stream.Stream) {
		h, _ := st.Header()
		got <- append([]hpack.HeaderField(nil), h...)
		io.Copy(io.Discard, st)
		st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc", "grpc-status", "0"), true, true)
	})
	cc := newTestClient(t, addr, WithUserAgent("test/1"))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "k", "v", "bin-bin", "\x00\x01\x02\x03")
	_, err := cc.Invoke(ctx, "/pkg.Svc/M", msg("x"), nil, &CallOptions{Compressor: "gzip"}, nil, nil)
	wantCode(t, err, codes.Unimplemented) // OK without a message is a cardinality violation
	want := fieldsString(fields(
		":method", "POST", ":scheme", "http", ":path", "/pkg.Svc/M", ":authority", addr,
		"content-type", "application/grpc", "user-agent", "test/1 h2rpc-go/"+Version, "te", "trailers",
		"grpc-encoding", "gzip", "grpc-accept-encoding", "gzip",
		"k", "v", "bin-bin", "AAECAw",
	))
	if h := fieldsString(<-got); h != want {
		t.Errorf("request headers:\n%s\nwant:\n%s", h, want)
	}
}

func TestTimeoutHeaderSent(t *testing.T) {
	leakcheck.Check(t)
	got := make(chan string, 1)
	addr := rawServer(t, func(st *stream.Stream) {
		h, _ := st.Header()
		for _, f := range h {
			if f.Name == "grpc-timeout" {
				got <- f.Value
			}
		}
		io.Copy(io.Discard, st)
		st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc", "grpc-status", "0"), true, true)
	})
	cc := newTestClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cc.Invoke(ctx, "/a/b", msg(""), nil, nil, nil, nil)
	v := <-got
	d, err := parseTimeout(v)
	if err != nil || d <= 2*time.Second || d > 3*time.Second {
		t.Fatalf("grpc-timeout %q = %v, %v", v, d, err)
	}
}

// TestHTTPStatusMapping: a response without grpc-status maps its HTTP
// status (PROTOCOL-HTTP2 "HTTP to gRPC Status Code Mapping").
func TestHTTPStatusMapping(t *testing.T) {
	for _, tc := range []struct {
		http int
		want codes.Code
	}{
		{400, codes.Internal}, {401, codes.Unauthenticated}, {403, codes.PermissionDenied},
		{404, codes.Unimplemented}, {429, codes.Unavailable}, {502, codes.Unavailable},
		{503, codes.Unavailable}, {504, codes.Unavailable}, {500, codes.Unknown}, {418, codes.Unknown},
	} {
		t.Run(strconv.Itoa(tc.http), func(t *testing.T) {
			leakcheck.Check(t)
			addr := rawServer(t, func(st *stream.Stream) {
				io.Copy(io.Discard, st)
				st.WriteHeaders(fields(":status", strconv.Itoa(tc.http), "content-type", "text/plain"), false, true)
				st.WriteData([]byte("no"), true, true)
			})
			cc := newTestClient(t, addr)
			_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
			wantCode(t, err, tc.want)
		})
	}
}

// TestResetMapping: RST_STREAM codes map to statuses (PROTOCOL-HTTP2
// "Errors").
func TestResetMapping(t *testing.T) {
	for _, tc := range []struct {
		code frame.ErrCode
		want codes.Code
	}{
		{frame.ErrCodeCancel, codes.Canceled},
		{frame.ErrCodeEnhanceYourCalm, codes.ResourceExhausted},
		{frame.ErrCodeInadequateSecurity, codes.PermissionDenied},
		{frame.ErrCodeInternal, codes.Internal},
		{frame.ErrCodeProtocol, codes.Internal},
		{frame.ErrCodeNo, codes.Internal},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			leakcheck.Check(t)
			addr := rawServer(t, func(st *stream.Stream) {
				st.Reset(tc.code)
			})
			cc := newTestClient(t, addr)
			_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
			wantCode(t, err, tc.want)
		})
	}
}

// slowTimerCtx has a deadline but its Done channel never closes: it stands
// for a context whose timer has not fired yet when its deadline passes.
type slowTimerCtx struct {
	context.Context
	deadline time.Time
}

func (c slowTimerCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// TestCancelAfterDeadline: a server's RST_STREAM(CANCEL) that arrives once
// the call's deadline has passed ends the call with DEADLINE_EXCEEDED, even
// before the client's own timer fires; before the deadline it is CANCELLED.
func TestCancelAfterDeadline(t *testing.T) {
	leakcheck.Check(t)
	dl := time.Now().Add(50 * time.Millisecond)
	addr := rawServer(t, func(st *stream.Stream) {
		if h, _ := st.Header(); hasField(h, "x-early") {
			st.Reset(frame.ErrCodeCancel)
			return
		}
		time.Sleep(time.Until(dl) + 5*time.Millisecond)
		st.Reset(frame.ErrCodeCancel)
	})
	cc := newTestClient(t, addr)
	_, err := cc.Invoke(slowTimerCtx{bg(), dl}, "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.DeadlineExceeded)
	early := metadata.AppendToOutgoingContext(slowTimerCtx{bg(), time.Now().Add(time.Hour)}, "x-early", "1")
	_, err = cc.Invoke(early, "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.Canceled)
}

func hasField(fields []hpack.HeaderField, name string) bool {
	for _, f := range fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// TestRefusedStreamRetried: REFUSED_STREAM means the server did no work;
// the call is retried transparently and succeeds.
func TestRefusedStreamRetried(t *testing.T) {
	leakcheck.Check(t)
	var mu sync.Mutex
	n := 0
	addr := rawServer(t, func(st *stream.Stream) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			st.Reset(frame.ErrCodeRefusedStream)
			return
		}
		io.Copy(io.Discard, st)
		st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc"), false, false)
		st.WriteData([]byte{0, 0, 0, 0, 1, 'y'}, false, false)
		st.WriteHeaders(fields("grpc-status", "0"), true, true)
	})
	cc := newTestClient(t, addr)
	reply, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
	if err != nil || string(reply) != "y" {
		t.Fatalf("reply %q, %v", reply, err)
	}
}

func TestRefusedStreamExhaustsRetries(t *testing.T) {
	leakcheck.Check(t)
	addr := rawServer(t, func(st *stream.Stream) { st.Reset(frame.ErrCodeRefusedStream) })
	cc := newTestClient(t, addr)
	_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.Unavailable)
}

func TestResponseChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    stream.Handler
		want codes.Code
	}{
		{"wrong content-type", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "text/html"), false, false)
			st.WriteHeaders(fields("grpc-status", "0"), true, true)
		}, codes.Unknown},
		{"no grpc-status", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc"), false, false)
			st.WriteData([]byte{0, 0, 0, 0, 0}, true, true)
		}, codes.Internal},
		{"compressed flag without encoding", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc"), false, false)
			st.WriteData([]byte{1, 0, 0, 0, 1, 'x'}, false, false)
			st.WriteHeaders(fields("grpc-status", "0"), true, true)
		}, codes.Internal},
		{"unknown encoding", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc", "grpc-encoding", "br"), false, false)
			st.WriteHeaders(fields("grpc-status", "0"), true, true)
		}, codes.Internal},
		{"invalid flags", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc"), false, false)
			st.WriteData([]byte{2, 0, 0, 0, 0}, false, false)
			st.WriteHeaders(fields("grpc-status", "0"), true, true)
		}, codes.Internal},
		{"message cut short", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc"), false, false)
			st.WriteData([]byte{0, 0, 0, 0, 9, 'x'}, false, false)
			st.WriteHeaders(fields("grpc-status", "0"), true, true)
		}, codes.Internal},
		{"two messages in unary", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc"), false, false)
			st.WriteData([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, false)
			st.WriteHeaders(fields("grpc-status", "0"), true, true)
		}, codes.Unimplemented}, // a cardinality violation (gRPC's statuscodes.md)
		{"no message in unary", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc"), false, false)
			st.WriteHeaders(fields("grpc-status", "0"), true, true)
		}, codes.Unimplemented},
		{"status 800", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "800", "content-type", "application/grpc", "grpc-status", "0"), true, true)
		}, codes.Unknown}, // well-formed, mapped by the HTTP table
		{"trailers-only not gRPC", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "text/html"), true, true)
		}, codes.Unknown},
		{"trailers-only without content-type", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "grpc-status", "0"), true, true)
		}, codes.Unknown},
		{"malformed grpc-status", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc", "grpc-status", "x"), true, true)
		}, codes.Internal},
		{"trailers-only status and message", func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc", "grpc-status", "5", "grpc-message", "no%20such"), true, true)
		}, codes.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			cc := newTestClient(t, rawServer(t, tc.h))
			_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
			wantCode(t, err, tc.want)
			if tc.want == codes.NotFound && status.Convert(err).Message() != "no such" {
				t.Errorf("message %q", status.Convert(err).Message())
			}
		})
	}
}

func TestRecvLimitWithoutReadingMessage(t *testing.T) {
	leakcheck.Check(t)
	addr := rawServer(t, func(st *stream.Stream) {
		io.Copy(io.Discard, st)
		st.WriteHeaders(fields(":status", "200", "content-type", "application/grpc"), false, false)
		// Announce 1 GiB; send only the prefix.
		st.WriteData([]byte{0, 0x40, 0, 0, 0}, false, true)
		<-st.Done()
	})
	cc := newTestClient(t, addr, WithMaxRecvMsgSize(1024))
	_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.ResourceExhausted)
}

func TestUnavailableWhenNothingListens(t *testing.T) {
	leakcheck.Check(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cc := newTestClient(t, addr)
	_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.Unavailable)
	// Wait-for-ready calls wait until their deadline instead.
	ctx, cancel := context.WithTimeout(bg(), 100*time.Millisecond)
	defer cancel()
	_, err = cc.Invoke(ctx, "/a/b", msg("x"), nil, &CallOptions{WaitForReady: true}, nil, nil)
	wantCode(t, err, codes.DeadlineExceeded)
}

func TestClosedClientConn(t *testing.T) {
	cc := newTestClient(t, "127.0.0.1:1")
	cc.Close()
	_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.Canceled)
}

func TestTargets(t *testing.T) {
	for _, tc := range []struct{ in, canonical, authority string }{
		{"localhost:50051", "dns:///localhost:50051", "localhost:50051"},
		{"dns:///localhost:50051", "dns:///localhost:50051", "localhost:50051"},
		{"dns://8.8.8.8:53/example.com:8080", "dns://8.8.8.8:53/example.com:8080", "example.com:8080"},
		{"example.com", "dns:///example.com", "example.com:443"},
		{"passthrough:///10.0.0.1:80", "passthrough:///10.0.0.1:80", "10.0.0.1:80"},
		{"unix:/tmp/x.sock", "unix:/tmp/x.sock", "localhost"},
		{"unix:///tmp/x.sock", "unix:///tmp/x.sock", "localhost"},
		{"[::1]:50051", "dns:///[::1]:50051", "[::1]:50051"},
	} {
		cc := newTestClient(t, tc.in)
		if got := cc.CanonicalTarget(); got != tc.canonical {
			t.Errorf("%q: canonical target %q, want %q", tc.in, got, tc.canonical)
		}
		if cc.authority != tc.authority {
			t.Errorf("%q: authority %q, want %q", tc.in, cc.authority, tc.authority)
		}
	}
	for _, bad := range []string{"", "  ", "xds:///foo", "nosuch://host/x"} {
		if _, err := NewClient(bad, WithTransportCredentials(insecure.NewCredentials())); err == nil {
			t.Errorf("NewClient(%q) succeeded", bad)
		}
	}
}

func TestReservedMetadataRefused(t *testing.T) {
	cc := setup(t, echoHandler)
	for _, k := range []string{"grpc-foo", "content-type", "te", ":path"} {
		ctx := metadata.NewOutgoingContext(bg(), metadata.MD{k: {"v"}})
		_, err := cc.Invoke(ctx, "/a/b", msg("x"), nil, nil, nil, nil)
		wantCode(t, err, codes.Internal)
	}
	ctx := metadata.NewOutgoingContext(bg(), metadata.MD{"k": {"bad\nvalue"}})
	_, err := cc.Invoke(ctx, "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.Internal)
}
