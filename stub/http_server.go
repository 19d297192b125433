package stub

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/peer"
	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
)

// ServeHTTP implements http.Handler, as grpc-go's server does, so that the
// server can be mounted in net/http beside other handlers: gRPC calls
// need HTTP/2 (net/http with TLS, or h2c through http.Server's
// Protocols); gRPC-Web (WithGRPCWeb) works over HTTP/1.1 too; other
// requests go to the WithHTTPHandler handler, or get 405/415.
//
// What it costs compared with Serve: net/http runs its own HTTP/2 server
// (a goroutine per stream, its own copies of every frame, header maps per
// request), so a unary call through it takes about three times as long
// and allocates about six times as much (86 allocations for client and
// server together, against 15 through Serve, in this package's
// benchmarks); Serve's limits on streams, floods and keepalive do not
// apply, net/http's do. Use Serve when gRPC can have the port, with
// WithHTTPHandler for the few other requests it shares it with.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if s.opts.web != nil && s.serveWeb(w, r, ct) {
		return
	}
	if r.Method == http.MethodPost && isGRPCContentType(ct) {
		if r.ProtoMajor != 2 {
			http.Error(w, "h2rpc: gRPC requires HTTP/2", http.StatusHTTPVersionNotSupported)
			return
		}
		s.serveHTTPCall(w, r, nil, ct)
		return
	}
	if h := s.opts.httpHandler; h != nil {
		h.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "h2rpc: this is a gRPC server; it accepts only POST with content-type application/grpc", http.StatusMethodNotAllowed)
		return
	}
	http.Error(w, "h2rpc: this is a gRPC server; send gRPC requests (content-type application/grpc)", http.StatusUnsupportedMediaType)
}

// isGRPCContentType reports whether ct is application/grpc, with or
// without a subtype.
func isGRPCContentType(ct string) bool {
	rest, ok := strings.CutPrefix(ct, "application/grpc")
	return ok && (rest == "" || rest[0] == '+' || rest[0] == ';')
}

// serveHTTPCall serves one call through net/http's w and r; web is nil
// for gRPC, the gRPC-Web mode otherwise. ct is the content-type the call
// sees (gRPC-Web's translated to gRPC's).
func (s *Server) serveHTTPCall(w http.ResponseWriter, r *http.Request, web *webMode, ct string) {
	t := newHTTPTransport(w, r, web)
	defer t.end()
	t.fields = requestFields(r.Header, ct)
	base := r.Context()
	if _, ok := peer.FromContext(base); !ok {
		base = peer.NewContext(base, peerOf(r))
	}
	s.calls.ServeCall(base, t)
}

// requestFields is the header list of r for a call, content-type replaced
// with ct.
func requestFields(h http.Header, ct string) []hpack.HeaderField {
	fields := make([]hpack.HeaderField, 0, len(h)+1)
	fields = append(fields, hpack.HeaderField{Name: "content-type", Value: ct})
	for k, vs := range h {
		name := strings.ToLower(k)
		if name == "content-type" {
			continue
		}
		for _, v := range vs {
			fields = append(fields, hpack.HeaderField{Name: name, Value: v})
		}
	}
	return fields
}

// peerOf describes the client of a request from net/http.
func peerOf(r *http.Request) *peer.Peer {
	p := new(peer.Peer)
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		p.Addr = net.TCPAddrFromAddrPort(ap)
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		p.LocalAddr = la
	}
	if r.TLS != nil {
		p.AuthInfo = credentials.TLSInfo{State: *r.TLS}
	}
	return p
}

// httpTransport carries a call over net/http: a channel.ServerTransport
// over an http.ResponseWriter and a request body. The call writes from one
// goroutine at a time (its sending side is serialized); Reset, from the
// deadline timer, takes mu, as does end, after which Reset only cancels.
type httpTransport struct {
	head   hpack.RequestHead
	fields []hpack.HeaderField // the request's, for the call
	w      http.ResponseWriter
	rc     *http.ResponseController
	body   io.Reader
	web    *webMode // nil for gRPC
	ctx    context.Context
	cancel context.CancelFunc
	enc    []byte // gRPC-Web text: the base64 of one write, reused

	mu    sync.Mutex
	ended bool
}

func newHTTPTransport(w http.ResponseWriter, r *http.Request, web *webMode) *httpTransport {
	t := &httpTransport{w: w, rc: http.NewResponseController(w), body: r.Body, web: web,
		head: hpack.RequestHead{Method: r.Method, Path: r.URL.Path, Authority: r.Host, ContentLength: r.ContentLength}}
	if web != nil && web.text {
		t.body = newBase64Reader(r.Body)
	}
	t.ctx, t.cancel = context.WithCancel(r.Context())
	return t
}

func (t *httpTransport) Request() hpack.RequestHead { return t.head }

func (t *httpTransport) Header() ([]hpack.HeaderField, error) { return t.fields, nil }

func (t *httpTransport) Read(p []byte) (int, error) { return t.body.Read(p) }

func (t *httpTransport) Done() <-chan struct{} { return t.ctx.Done() }

// WriteHeaders sets the response headers and sends them, or sends the
// trailers: net/http's trailers for gRPC, the final body frame for
// gRPC-Web. A Trailers-Only response is headers only, in both.
func (t *httpTransport) WriteHeaders(fields []hpack.HeaderField, endStream, flush bool) error {
	h := t.w.Header()
	if len(fields) > 0 && fields[0].Name == ":status" {
		for _, f := range fields[1:] {
			v := f.Value
			if f.Name == "content-type" && t.web != nil {
				v = t.web.responseType(v)
			}
			h.Add(http.CanonicalHeaderKey(f.Name), v)
		}
		t.w.WriteHeader(http.StatusOK)
		if endStream {
			// Trailers-Only: not flushed, so that net/http sends it as
			// one HEADERS frame that ends the stream, once the call's
			// handler has returned.
			t.cancel()
			return nil
		}
		if flush {
			return t.flush()
		}
		return nil
	}
	defer t.cancel()
	if t.web == nil {
		for _, f := range fields {
			h.Add(http.TrailerPrefix+http.CanonicalHeaderKey(f.Name), f.Value)
		}
		return nil
	}
	if err := t.write(appendWebTrailers(nil, fields)); err != nil {
		return err
	}
	return t.flush()
}

func (t *httpTransport) WriteData(p []byte, endStream, flush bool) error {
	if err := t.write(p); err != nil {
		return err
	}
	if flush {
		return t.flush()
	}
	return nil
}

func (t *httpTransport) write(p []byte) error {
	if t.web != nil && t.web.text {
		t.enc = appendBase64(t.enc[:0], p)
		p = t.enc
	}
	_, err := t.w.Write(p)
	return err
}

func (t *httpTransport) flush() error {
	err := t.rc.Flush()
	if err == http.ErrNotSupported {
		return nil // the writer sends as it goes
	}
	return err
}

// streamResetter is a ResponseWriter of our own HTTP/2 streams, which can
// abort the stream under a call.
type streamResetter interface{ resetStream(frame.ErrCode) }

// Reset aborts the call: a read of the request body in progress fails.
// After the trailers (frame.ErrCodeNo) there is nothing left to abort.
func (t *httpTransport) Reset(code frame.ErrCode) {
	t.mu.Lock()
	if !t.ended && code != frame.ErrCodeNo {
		if sr, ok := t.w.(streamResetter); ok {
			sr.resetStream(code)
		} else {
			t.rc.SetReadDeadline(time.Now())
		}
	}
	t.mu.Unlock()
	t.cancel()
}

// end marks the handler done with w, which net/http may reuse.
func (t *httpTransport) end() {
	t.mu.Lock()
	t.ended = true
	t.mu.Unlock()
	t.cancel()
}
