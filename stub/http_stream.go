package stub

import (
	"context"
	"errors"
	"log"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/peer"
	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
	"github.com/h2rpc/h2rpc/stream"
)

// serveHTTPStream hands a request that is not gRPC, received on one of our
// own HTTP/2 streams, to ServeHTTP: gRPC-Web, the fallback handler, or the
// 405/415 answer. It runs on the stream's goroutine; when it returns, the
// stream layer resets whatever is still open.
func (s *Server) serveHTTPStream(base context.Context, st *stream.Stream) {
	r, err := newStreamRequest(base, st)
	if err != nil {
		w := &streamResponse{st: st, header: http.Header{}}
		http.Error(w, "h2rpc: "+err.Error(), http.StatusBadRequest)
		w.end()
		return
	}
	w := &streamResponse{st: st, header: http.Header{}, head: r.Method == http.MethodHead}
	defer func() {
		if p := recover(); p != nil {
			// As net/http does: the handler's panic ends its request only.
			st.Reset(frame.ErrCodeInternal)
			if p != http.ErrAbortHandler {
				logf("h2rpc: panic serving %s %s: %v", r.Method, r.URL.Path, p)
			}
		}
	}()
	s.ServeHTTP(w, r)
	w.end()
}

// newStreamRequest builds the http.Request of an HTTP/2 request stream.
func newStreamRequest(base context.Context, st *stream.Stream) (*http.Request, error) {
	head := st.Request()
	fields, _ := st.Header()
	u, err := url.ParseRequestURI(head.Path)
	if err != nil || head.Method == http.MethodConnect {
		return nil, errors.New("malformed request target")
	}
	h := make(http.Header, len(fields))
	var cookies []string
	for _, hf := range fields {
		switch {
		case strings.HasPrefix(hf.Name, ":"):
		case hf.Name == "cookie":
			// RFC 9113 §8.2.3: cookie crumbs are joined again for HTTP/1.1
			// semantics.
			cookies = append(cookies, hf.Value)
		default:
			k := http.CanonicalHeaderKey(hf.Name)
			h[k] = append(h[k], hf.Value)
		}
	}
	if cookies != nil {
		h["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	r := &http.Request{
		Method:        head.Method,
		URL:           u,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        h,
		Host:          head.Authority,
		RequestURI:    head.Path,
		ContentLength: head.ContentLength,
		Body:          streamBody{st},
	}
	if r.Host == "" {
		r.Host = h.Get("Host")
	}
	if r.ContentLength == 0 {
		r.Body = http.NoBody
	}
	if p, ok := peer.FromContext(base); ok {
		if p.Addr != nil {
			r.RemoteAddr = p.Addr.String()
		}
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			r.TLS = &ti.State
		}
		if p.LocalAddr != nil {
			base = context.WithValue(base, http.LocalAddrContextKey, p.LocalAddr)
		}
	}
	return r.WithContext(streamContext{base, st}), nil
}

// streamBody is a request body read from a stream.
type streamBody struct{ st *stream.Stream }

func (b streamBody) Read(p []byte) (int, error) { return b.st.Read(p) }

// Close stops the body: the client is told we want no more of it, once
// the response has ended.
func (b streamBody) Close() error { return nil }

// streamContext is the context of a request on a stream: its values from
// the connection, done when the stream ends.
type streamContext struct {
	context.Context
	st *stream.Stream
}

func (c streamContext) Done() <-chan struct{} { return c.st.Done() }

func (c streamContext) Err() error {
	select {
	case <-c.st.Done():
		return context.Canceled
	default:
		return nil
	}
}

// streamResponse is an http.ResponseWriter over an HTTP/2 stream. The
// headers go with the first Write or Flush (or at the end), so that a
// missing Content-Type can be sniffed as net/http does; Flush sends what
// has been written; trailers (announced in "Trailer", or set with
// http.TrailerPrefix) end the stream. It belongs to the handler's
// goroutine.
type streamResponse struct {
	st          *stream.Stream
	header      http.Header
	head        bool // a HEAD request: no body is sent
	status      int
	wroteHeader bool // WriteHeader was called (status set)
	sentHeader  bool // the header block has been written
	ended       bool
	written     int64
	err         error
}

func (w *streamResponse) Header() http.Header { return w.header }

func (w *streamResponse) WriteHeader(code int) {
	if w.wroteHeader || w.ended {
		return
	}
	if code >= 100 && code < 200 {
		return // informational responses are not relayed
	}
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code))
	}
	w.status, w.wroteHeader = code, true
}

func (w *streamResponse) Write(p []byte) (int, error) {
	if w.ended {
		return 0, errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if !w.sentHeader {
		if w.header.Get("Content-Type") == "" && w.header.Get("Content-Encoding") == "" && len(p) > 0 {
			w.header.Set("Content-Type", http.DetectContentType(p))
		}
		if err := w.sendHeader(false, false); err != nil {
			return 0, err
		}
	}
	if w.head || len(p) == 0 {
		return len(p), nil
	}
	if err := w.st.WriteData(p, false, false); err != nil {
		w.err = err
		return 0, err
	}
	w.written += int64(len(p))
	return len(p), nil
}

func bodyAllowed(code int) bool {
	return code != http.StatusNoContent && code != http.StatusNotModified
}

// Flush sends the headers and what has been written so far.
func (w *streamResponse) Flush() { w.FlushError() }

// FlushError is Flush with its error, for http.ResponseController.
func (w *streamResponse) FlushError() error {
	if w.ended {
		return errHandlerDone
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sentHeader {
		return w.sendHeader(false, true)
	}
	if w.err != nil {
		return w.err
	}
	return w.st.WriteData(nil, false, true)
}

// SetReadDeadline is for http.ResponseController; a stream's reads have
// no deadline of their own, so only the zero time (none) is accepted.
func (w *streamResponse) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	return http.ErrNotSupported
}

// sendHeader writes the header block: the status, then the headers
// without those HTTP/2 forbids, content-length when the whole body is
// known to be empty.
func (w *streamResponse) sendHeader(endStream, flush bool) error {
	w.sentHeader = true
	fields := make([]hpack.HeaderField, 0, len(w.header)+2)
	fields = append(fields, hpack.HeaderField{Name: ":status", Value: strconv.Itoa(w.status)})
	for k, vs := range w.header {
		name := strings.ToLower(k)
		if connectionSpecific(name) || name == "trailer" || strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		for _, v := range vs {
			fields = append(fields, hpack.HeaderField{Name: name, Value: v})
		}
	}
	if endStream && w.header.Get("Content-Length") == "" && bodyAllowed(w.status) && !w.head {
		fields = append(fields, hpack.HeaderField{Name: "content-length", Value: "0"})
	}
	if err := w.st.WriteHeaders(fields, endStream, flush); err != nil {
		w.err = err
		return err
	}
	return nil
}

// connectionSpecific reports the headers HTTP/2 does not carry (RFC 9113
// §8.2.2).
func connectionSpecific(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// trailers returns the trailer fields the handler set.
func (w *streamResponse) trailers() []hpack.HeaderField {
	var f []hpack.HeaderField
	for _, declared := range w.header.Values("Trailer") {
		for _, k := range strings.Split(declared, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			for _, v := range w.header[k] {
				f = append(f, hpack.HeaderField{Name: strings.ToLower(k), Value: v})
			}
		}
	}
	for k, vs := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok {
			for _, v := range vs {
				f = append(f, hpack.HeaderField{Name: strings.ToLower(name), Value: v})
			}
		}
	}
	return f
}

// end ends the response once the handler has returned.
func (w *streamResponse) end() {
	if w.ended {
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	tr := w.trailers()
	w.ended = true
	if w.err != nil {
		return
	}
	if !w.sentHeader {
		if len(tr) == 0 {
			w.sendHeader(true, true)
			return
		}
		if w.sendHeader(false, false) != nil {
			return
		}
	}
	if len(tr) > 0 {
		w.st.WriteHeaders(tr, true, true)
		return
	}
	w.st.WriteData(nil, true, true)
}

// logf reports what a handler's caller cannot return: a panic.
func logf(format string, args ...any) { httpErrorLog.Printf(format, args...) }

// httpErrorLog is where the HTTP side of a server reports panics and
// connection errors, as net/http does by default.
var httpErrorLog = log.New(os.Stderr, "", log.LstdFlags)

// resetStream aborts the stream under a call carried over this writer.
func (w *streamResponse) resetStream(code frame.ErrCode) { w.st.Reset(code) }

// errHandlerDone is the error of a write after the handler returned.
var errHandlerDone = errors.New("h2rpc: the response has ended")
