package stub

import (
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"strings"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/hpack"
)

// gRPC-Web (PROTOCOL-WEB.md in grpc/grpc) is gRPC's framing over any HTTP
// version, readable by a browser's fetch: the trailers travel as a last
// body frame whose flag byte has its top bit (0x80) set, and in the text
// mode the whole body is base64.

const (
	webPrefix     = "application/grpc-web"
	webTextPrefix = "application/grpc-web-text"
	webTrailerBit = 0x80
)

// webMode is how one gRPC-Web request is framed.
type webMode struct {
	text    bool   // application/grpc-web-text: base64 bodies
	subtype string // "+proto", "+json", or "" as the client wrote it
}

// parseWebContentType recognizes a gRPC-Web content-type, parameters
// ignored.
func parseWebContentType(ct string) (webMode, bool) {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	var m webMode
	rest, ok := strings.CutPrefix(ct, webTextPrefix)
	if ok {
		m.text = true
	} else if rest, ok = strings.CutPrefix(ct, webPrefix); !ok {
		return m, false
	}
	if rest != "" && (rest[0] != '+' || len(rest) == 1) {
		return m, false
	}
	m.subtype = rest
	return m, true
}

// grpcType is the gRPC content-type the call sees.
func (m *webMode) grpcType() string { return "application/grpc" + m.subtype }

// responseType turns the call's gRPC content-type into gRPC-Web's, in the
// request's mode; proto is named if the request named it.
func (m *webMode) responseType(grpcCT string) string {
	rest := strings.TrimPrefix(grpcCT, "application/grpc")
	if rest == "" {
		rest = m.subtype
	}
	if m.text {
		return webTextPrefix + rest
	}
	return webPrefix + rest
}

// serveWeb serves r if it is a gRPC-Web request or the CORS preflight of
// one; false leaves r to the rest of ServeHTTP.
func (s *Server) serveWeb(w http.ResponseWriter, r *http.Request, ct string) bool {
	wc := s.opts.web
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" && s.methods[r.URL.Path] != nil {
		wc.preflight(w, r)
		return true
	}
	mode, ok := parseWebContentType(ct)
	if !ok {
		return false
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "h2rpc: gRPC-Web requests are POST", http.StatusMethodNotAllowed)
		return true
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if !wc.allowed(origin, r) {
			http.Error(w, "h2rpc: origin not allowed", http.StatusForbidden)
			return true
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", wc.exposeHeaders)
	}
	if m := s.methods[r.URL.Path]; m != nil && m.sd != nil && m.sd.ClientStreams {
		t := newHTTPTransport(w, r, &mode)
		defer t.end()
		kind := "client-streaming"
		if m.sd.ServerStreams {
			kind = "bidi-streaming"
		}
		st := status.Newf(codes.Unimplemented, "grpc-web: %s method %s cannot be called over gRPC-Web", kind, r.URL.Path)
		t.WriteHeaders([]hpack.HeaderField{
			{Name: ":status", Value: "200"},
			{Name: "content-type", Value: mode.grpcType()},
			{Name: "grpc-status", Value: "12"},
			{Name: "grpc-message", Value: status.EncodeMessage(st.Message())},
		}, true, true)
		return true
	}
	s.serveHTTPCall(w, r, &mode, mode.grpcType())
	return true
}

// allowed reports whether a page of origin may call: it is the server's
// own origin, or one the options list.
func (wc *webConfig) allowed(origin string, r *http.Request) bool {
	if wc.anyOrigin || wc.origins[origin] {
		return true
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return origin == scheme+r.Host
}

// preflight answers a CORS preflight (OPTIONS with
// Access-Control-Request-Method): 204 with what a gRPC-Web call may send,
// or 403 for an origin or a method that may not.
func (wc *webConfig) preflight(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || !wc.allowed(origin, r) || r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
		http.Error(w, "h2rpc: cross-origin call not allowed", http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", wc.allowHeaders)
	h.Set("Access-Control-Expose-Headers", wc.exposeHeaders)
	h.Set("Access-Control-Max-Age", "7200")
	w.WriteHeader(http.StatusNoContent)
}

// appendWebTrailers appends the trailer frame of gRPC-Web: flag 0x80, a
// 4-byte length, then the fields as HTTP/1.1 header lines.
func appendWebTrailers(dst []byte, fields []hpack.HeaderField) []byte {
	start := len(dst)
	dst = append(dst, webTrailerBit, 0, 0, 0, 0)
	for _, f := range fields {
		dst = append(dst, f.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.Value...)
		dst = append(dst, "\r\n"...)
	}
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-5))
	return dst
}

// appendBase64 appends p in padded base64: each write of a response is
// encoded whole, so a browser can decode every chunk that arrives; padding
// therefore occurs mid-body, which gRPC-Web clients accept.
func appendBase64(dst, p []byte) []byte { return base64.StdEncoding.AppendEncode(dst, p) }

// base64Reader decodes a gRPC-Web text body: base64 in groups of four
// characters, where a group may be padded anywhere in the body (a client
// may encode each message separately), and where the chunks that arrive
// need not end on a group, nor on a frame.
type base64Reader struct {
	r     io.Reader
	in    [4096]byte
	group [4]byte
	n     int    // characters of group filled
	out   []byte // decoded, not yet read
	space [3 * 1024]byte
	err   error
}

func newBase64Reader(r io.Reader) *base64Reader { return &base64Reader{r: r} }

// errBadBase64 ends a call whose text body is not base64.
var errBadBase64 = status.Error(codes.Internal, "grpc-web: malformed base64 in the request body")

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		k, err := b.r.Read(b.in[:])
		out := b.space[:0]
		for _, c := range b.in[:k] {
			if c == '\r' || c == '\n' {
				continue
			}
			b.group[b.n] = c
			b.n++
			if b.n < 4 {
				continue
			}
			b.n = 0
			var dec [3]byte
			m, derr := base64.StdEncoding.Decode(dec[:], b.group[:])
			if derr != nil {
				b.err = errBadBase64
				break
			}
			out = append(out, dec[:m]...)
		}
		b.out = out
		if b.err == nil && err != nil {
			b.err = err
			if err == io.EOF && b.n != 0 {
				b.err = status.Error(codes.Internal, "grpc-web: request body ends inside a base64 group")
			}
		}
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}
