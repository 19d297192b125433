// Package auth shows authentication and authorization with h2rpc, as
// grpc-go's authentication and authz examples do: the client sends an
// OAuth bearer token with per-RPC credentials (package oauth) over TLS,
// and may present a client certificate (mTLS); the server checks the token
// in an interceptor (UNAUTHENTICATED when it is missing or wrong) and an
// authorization rule per method (PERMISSION_DENIED), and the handler sees
// the caller's identity, from the token or from the verified certificate's
// subject.
//
// Package authz holds the interceptors; auth_server and auth_client are the
// two programs; this package embeds the example's test certificates
// (testdata, made by testdata/gencerts.go), which both programs use by
// default.
package auth
