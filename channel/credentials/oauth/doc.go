// Package oauth provides per-RPC credentials that send an OAuth 2.0 access
// token as "authorization: Bearer <token>", like grpc-go's
// credentials/oauth, with the standard library only: a fixed token
// (NewOauthAccess) and a token source that fetches a new token when the
// current one expires (TokenSource with ReuseTokenSource). Both require
// transport security: a plaintext client never sends them.
package oauth
