package main

import (
	"crypto/tls"
	"fmt"
	"html"
	"net/http"

	"github.com/h2rpc/h2rpc/stub"
)

// webOptions are the interop server's gRPC-Web settings: any origin, and
// the interop metadata keys allowed in and readable out, so that a page
// of any harness can run the metadata case.
func webOptions() stub.WebOptions {
	keys := []string{"x-grpc-test-echo-initial", "x-grpc-test-echo-trailing-bin"}
	return stub.WebOptions{AllowedOrigins: []string{"*"}, AllowedHeaders: keys, ExposedHeaders: keys}
}

// interopPage answers GET / with a short page about the server; other
// paths are 404.
func interopPage(transport string, web bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>h2rpc interop server</title></head>
<body><h1>h2rpc interop server</h1>
<p>This port serves grpc.testing.TestService over gRPC (%s)%s, and this page over HTTP/%d.</p>
</body></html>
`, html.EscapeString(transport), map[bool]string{true: " and gRPC-Web (binary and text, any origin)"}[web], r.ProtoMajor)
	})
	return mux
}

// serveHTTPMounted returns a net/http server of srv (Server.ServeHTTP):
// h2c beside HTTP/1.1, or TLS (ALPN h2 and http/1.1) when cert is set.
func serveHTTPMounted(srv *stub.Server, cert *tls.Certificate) *http.Server {
	hs := &http.Server{Handler: srv}
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	if cert == nil {
		hs.Protocols.SetUnencryptedHTTP2(true)
		return hs
	}
	hs.Protocols.SetHTTP2(true)
	hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	return hs
}
