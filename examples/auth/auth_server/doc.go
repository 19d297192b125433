// Command auth_server serves the auth example's Greeter over TLS, verifying
// the client certificates clients present (mTLS; --mtls=false turns that
// off), behind its token and per-method checks. Its first line of
// standard output is "listening on ADDRESS".
package main
