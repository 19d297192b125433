package stub

import (
	"net/http"
	"strings"
)

// WithHTTPHandler makes h the server's fallback: requests on the server's
// port that are not gRPC (nor gRPC-Web, when WithGRPCWeb is on) go to h
// instead of getting a 405 or 415 answer, over HTTP/2 (h2c and TLS) and
// over HTTP/1.1 on the same port. A connection is told apart by its first
// bytes, the HTTP/2 client preface, once per connection; HTTP/1.1
// connections are served by net/http. On our own HTTP/2 connections h
// sees an http.ResponseWriter that streams: Flush sends what was written,
// trailers announced in "Trailer" or set with http.TrailerPrefix end the
// stream, and the request body is read as it arrives.
func WithHTTPHandler(h http.Handler) ServerOption {
	return func(o *serverOptions) { o.httpHandler = h }
}

// WebOptions configures gRPC-Web (see WithGRPCWeb).
type WebOptions struct {
	// AllowedOrigins lists the origins ("https://app.example.com") whose
	// pages may call the server across origins; "*" allows any. Requests
	// from the server's own origin are always allowed.
	AllowedOrigins []string
	// AllowedHeaders lists request headers, beyond those gRPC-Web clients
	// send (content-type, x-grpc-web, x-user-agent, grpc-timeout), that a
	// preflight allows: the custom metadata keys of cross-origin callers.
	AllowedHeaders []string
	// ExposedHeaders lists response headers, beyond grpc-status,
	// grpc-message and grpc-status-details-bin, that cross-origin pages
	// may read: the metadata keys a server sends them.
	ExposedHeaders []string
}

// WithGRPCWeb serves gRPC-Web (the binary application/grpc-web,
// +proto, +json, and the base64 application/grpc-web-text) beside gRPC on
// the server's port, over HTTP/1.1 and HTTP/2, with CORS for the origins
// opts allows. Unary and server-streaming methods can be called; client
// and bidi streaming cannot be over gRPC-Web, and end with UNIMPLEMENTED.
func WithGRPCWeb(opts WebOptions) ServerOption {
	return func(o *serverOptions) {
		w := &webConfig{anyOrigin: false, origins: map[string]bool{}}
		for _, origin := range opts.AllowedOrigins {
			if origin == "*" {
				w.anyOrigin = true
			}
			w.origins[origin] = true
		}
		w.allowHeaders = strings.Join(append([]string{"content-type", "x-grpc-web", "x-user-agent", "grpc-timeout"}, lower(opts.AllowedHeaders)...), ", ")
		w.exposeHeaders = strings.Join(append([]string{"grpc-status", "grpc-message", "grpc-status-details-bin"}, lower(opts.ExposedHeaders)...), ", ")
		o.web = w
	}
}

func lower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return out
}

// webConfig is WebOptions, ready for requests.
type webConfig struct {
	anyOrigin     bool
	origins       map[string]bool
	allowHeaders  string
	exposeHeaders string
}
