package stub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

// bigChunks and bigChunk make the large streamed response of the fallback
// tests: 4 MiB written and flushed in 64 KiB pieces.
const (
	bigChunks = 64
	bigChunk  = 64 << 10
)

// fallbackMux is the user's handler of the tests: a page, a large
// streamed response, a handler that reads the request body, trailers.
func fallbackMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s over HTTP/%d", r.URL.Query().Get("name"), r.ProtoMajor)
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		chunk := bytes.Repeat([]byte{'b'}, bigChunk)
		for i := range bigChunks {
			chunk[0] = byte('0' + i%10)
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("POST /sum", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Trailer", "X-Sum")
		fmt.Fprintf(w, "%d bytes", n)
		w.Header().Set("X-Sum", hex.EncodeToString(h.Sum(nil)))
	})
	return mux
}

// bigBody is what GET /big answers.
func bigBody() []byte {
	var b bytes.Buffer
	chunk := bytes.Repeat([]byte{'b'}, bigChunk)
	for i := range bigChunks {
		chunk[0] = byte('0' + i%10)
		b.Write(chunk)
	}
	return b.Bytes()
}

// httpClients are Go's clients of one port: HTTP/1.1, and HTTP/2 with
// prior knowledge (h2c).
func httpClients(t *testing.T) map[string]*http.Client {
	h1 := &http.Transport{}
	h1.Protocols = new(http.Protocols)
	h1.Protocols.SetHTTP1(true)
	h2 := &http.Transport{}
	h2.Protocols = new(http.Protocols)
	h2.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(h1.CloseIdleConnections)
	t.Cleanup(h2.CloseIdleConnections)
	return map[string]*http.Client{"HTTP/1.1": {Transport: h1}, "HTTP/2": {Transport: h2}}
}

func TestFallbackHandlerSamePort(t *testing.T) {
	e := newEnv(t, envConfig{sopts: []stub.ServerOption{stub.WithHTTPHandler(fallbackMux())}})
	want := bigBody()
	payload := bytes.Repeat([]byte("request body "), 300_000) // 3.9 MB
	sum := sha256.Sum256(payload)
	for name, c := range httpClients(t) {
		t.Run(name, func(t *testing.T) {
			major := map[string]int{"HTTP/1.1": 1, "HTTP/2": 2}[name]
			resp, err := c.Get("http://" + e.addr + "/?name=web")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != major || resp.StatusCode != 200 || string(body) != fmt.Sprintf("hello web over HTTP/%d", major) ||
				resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatalf("GET / = %s %d %q %q", resp.Proto, resp.StatusCode, body, resp.Header)
			}

			resp, err = c.Get("http://" + e.addr + "/big")
			if err != nil {
				t.Fatal(err)
			}
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || !bytes.Equal(body, want) {
				t.Fatalf("GET /big: %d bytes, err %v; want %d bytes", len(body), err, len(want))
			}

			resp, err = c.Post("http://"+e.addr+"/sum", "application/octet-stream", bytes.NewReader(payload))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != fmt.Sprintf("%d bytes", len(payload)) || resp.Trailer.Get("X-Sum") != hex.EncodeToString(sum[:]) {
				t.Fatalf("POST /sum = %q, trailer %q", body, resp.Trailer)
			}

			resp, err = c.Get("http://" + e.addr + "/missing")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Fatalf("GET /missing = %d", resp.StatusCode)
			}
		})
	}
	// gRPC on the same port, after and beside it all.
	if r, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "still gRPC"}); err != nil || r.GetPayload() != "still gRPC" {
		t.Fatalf("Unary = %v, %v", r, err)
	}
}

// TestFallbackCurl asks the same port with curl, over HTTP/1.1 and over
// HTTP/2 with prior knowledge, as an outside client does.
func TestFallbackCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is needed: ", err)
	}
	e := newEnv(t, envConfig{sopts: []stub.ServerOption{stub.WithHTTPHandler(fallbackMux())}})
	want := sha256.Sum256(bigBody())
	for _, proto := range []string{"--http1.1", "--http2-prior-knowledge"} {
		out, err := exec.Command(curl, "-sS", "--fail", proto, "-o", "-", "-w", "\n%{http_version}", "http://"+e.addr+"/big").Output()
		if err != nil {
			t.Fatalf("curl %s: %v", proto, err)
		}
		i := bytes.LastIndexByte(out, '\n')
		got := sha256.Sum256(out[:i])
		version := map[string]string{"--http1.1": "1.1", "--http2-prior-knowledge": "2"}[proto]
		if got != want || string(out[i+1:]) != version {
			t.Fatalf("curl %s: %d bytes, version %q", proto, i, out[i+1:])
		}
		cmd := exec.Command(curl, "-sS", "--fail", proto, "--data-binary", "@-", "http://"+e.addr+"/sum")
		cmd.Stdin = strings.NewReader("abc")
		out, err = cmd.Output()
		if err != nil || string(out) != "3 bytes" {
			t.Fatalf("curl %s POST /sum = %q, %v", proto, out, err)
		}
	}
	if _, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
		t.Fatal(err)
	}
}

func TestFallbackOverTLS(t *testing.T) {
	e := newEnv(t, envConfig{tls: true, sopts: []stub.ServerOption{stub.WithHTTPHandler(fallbackMux())}})
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + e.addr + "/?name=tls")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "hello tls over HTTP/2" {
		t.Fatalf("GET / over TLS = %s %q", resp.Proto, body)
	}
	if _, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
		t.Fatal(err)
	}
}

// Without a handler, a non-gRPC request gets today's answer, and an
// HTTP/1.1 connection is not served.
func TestNoFallbackHandler(t *testing.T) {
	e := newEnv(t, envConfig{})
	c := httpClients(t)
	resp, err := c["HTTP/2"].Get("http://" + e.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET / = %d", resp.StatusCode)
	}
	if resp, err := c["HTTP/1.1"].Get("http://" + e.addr + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("HTTP/1.1 GET / answered %d", resp.StatusCode)
	}
}

// mountH2C serves h in net/http with h2c beside HTTP/1.1 on a loopback
// port until t ends, and returns its address.
func mountH2C(t testing.TB, h http.Handler) string {
	t.Helper()
	addr, stop := serveH2C(t, h)
	t.Cleanup(stop)
	return addr
}

// serveH2C is mountH2C until stop is called.
func serveH2C(t testing.TB, h http.Handler) (addr string, stop func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetUnencryptedHTTP2(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(lis)
	}()
	return lis.Addr().String(), func() {
		hs.Close()
		<-done
	}
}

func TestServeHTTPMountedInNetHTTP(t *testing.T) {
	s := stub.NewServer(stub.WithHTTPHandler(fallbackMux()))
	impl := &echo{release: make(chan struct{}), seen: make(chan error, 4)}
	pb.RegisterEchoServer(s, impl)
	mux := http.NewServeMux()
	mux.Handle("/h2rpc.gentest.Echo/", s)
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	addr := mountH2C(t, mux)
	cc, err := stub.NewClient(addr, stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := pb.NewEchoClient(cc)
	ctx := ctxT(t)

	var header, trailer metadata.MD
	mdctx := metadata.AppendToOutgoingContext(ctx, "k", "v1", "k-bin", string([]byte{9, 8}))
	r, err := c.Unary(mdctx, &pb.Request{Payload: "md"}, stub.Header(&header), stub.Trailer(&trailer))
	if err != nil || r.GetPayload() != "v1|[0908]" || header.Get("h")[0] != "head" || string(header.Get("h-bin")[0]) != "\x00\x01\x02" || trailer.Get("t")[0] != "trail" {
		t.Fatalf("Unary md = %v, %v; header %v trailer %v", r, err, header, trailer)
	}
	_, err = c.Unary(ctx, &pb.Request{Payload: "fail:5"})
	wantCode(t, err, codes.NotFound, "failed on purpose")

	ss, err := c.ServerStream(ctx, &pb.Request{Payload: "s", Count: ptr(int32(3))})
	if err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, ss.Recv); got != "s0,s1,s2" {
		t.Fatalf("ServerStream = %q", got)
	}

	bidi, err := c.Bidi(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "b"} {
		if err := bidi.Send(&pb.Request{Payload: m}); err != nil {
			t.Fatal(err)
		}
		if r, err := bidi.Recv(); err != nil || r.GetPayload() != strings.ToUpper(m) {
			t.Fatalf("Bidi Recv = %v, %v", r, err)
		}
	}
	bidi.CloseSend()
	if _, err := bidi.Recv(); err != io.EOF {
		t.Fatalf("Bidi end = %v", err)
	}

	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = c.Unary(dctx, &pb.Request{Payload: "block"})
	wantCode(t, err, codes.DeadlineExceeded, "")
	// The server's own deadline and the client's RST_STREAM(CANCEL) at the
	// same moment race, through net/http as through Serve (see
	// TestDeadlineAndCancel): the handler sees one or the other.
	if err := <-impl.seen; err != context.DeadlineExceeded && err != context.Canceled {
		t.Fatalf("handler saw %v", err)
	}

	resp, err := http.Get("http://" + addr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /status = %d", resp.StatusCode)
	}
	// gRPC over HTTP/1.1 is refused with an HTTP error.
	resp, err = http.Post("http://"+addr+"/h2rpc.gentest.Echo/Unary", "application/grpc", strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusHTTPVersionNotSupported {
		t.Fatalf("gRPC over HTTP/1.1 = %d", resp.StatusCode)
	}
}

// payloads receives until io.EOF and joins what came with commas.
func payloads(t *testing.T, recv func() (*pb.Response, error)) string {
	t.Helper()
	var got []string
	for {
		m, err := recv()
		if err == io.EOF {
			return strings.Join(got, ",")
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.GetPayload())
	}
}
