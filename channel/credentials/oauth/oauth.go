package oauth

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials"
)

// Token is an OAuth 2.0 access token.
type Token struct {
	// AccessToken is the token sent to the server.
	AccessToken string
	// TokenType is the authorization scheme; empty means "Bearer".
	TokenType string
	// Expiry is when the token stops being valid; zero means never.
	Expiry time.Time
}

// expiryDelta is how long before its Expiry a token counts as expired, so
// that a token is not sent just as it runs out.
const expiryDelta = 10 * time.Second

// Type returns the authorization scheme: TokenType, or "Bearer".
func (t *Token) Type() string {
	if t.TokenType == "" {
		return "Bearer"
	}
	return t.TokenType
}

// Valid reports whether t has an access token that does not expire within
// the next ten seconds.
func (t *Token) Valid() bool {
	return t != nil && t.AccessToken != "" && (t.Expiry.IsZero() || time.Now().Add(expiryDelta).Before(t.Expiry))
}

// header is the value of the authorization header for t.
func (t *Token) header() map[string]string {
	return map[string]string{"authorization": t.Type() + " " + t.AccessToken}
}

// TokenProvider returns a token, fetching it if need be. It plays the part
// of golang.org/x/oauth2's TokenSource.
type TokenProvider interface {
	Token() (*Token, error)
}

// TokenProviderFunc is a function that is a TokenProvider.
type TokenProviderFunc func() (*Token, error)

// Token calls f.
func (f TokenProviderFunc) Token() (*Token, error) { return f() }

// oauthAccess sends one fixed token.
type oauthAccess struct{ token Token }

// NewOauthAccess returns per-RPC credentials that send token with every
// call.
func NewOauthAccess(token *Token) credentials.PerRPCCredentials {
	return oauthAccess{token: *token}
}

func (a oauthAccess) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return a.token.header(), nil
}

func (oauthAccess) RequireTransportSecurity() bool { return true }

// TokenSource is per-RPC credentials that send the token of its
// TokenProvider with every call; with ReuseTokenSource the provider is
// asked only when the current token has expired. An error from the
// provider fails the call (UNAVAILABLE, or the error's own status).
type TokenSource struct {
	TokenProvider
}

// GetRequestMetadata returns the provider's current token as an
// authorization header.
func (ts TokenSource) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if ts.TokenProvider == nil {
		return nil, errors.New("oauth: TokenSource without a TokenProvider")
	}
	t, err := ts.Token()
	if err != nil {
		return nil, err
	}
	if t == nil || t.AccessToken == "" {
		return nil, errors.New("oauth: the token provider returned no access token")
	}
	return t.header(), nil
}

// RequireTransportSecurity returns true.
func (TokenSource) RequireTransportSecurity() bool { return true }

// reuse caches the token of src until it expires. Its methods may be
// called from any goroutine; one fetch runs at a time.
type reuse struct {
	mu  sync.Mutex
	t   *Token
	src TokenProvider
}

// ReuseTokenSource returns a TokenProvider that returns t (which may be
// nil) while it is valid, then asks src for a new token and keeps that one
// while it is valid, and so on.
func ReuseTokenSource(t *Token, src TokenProvider) TokenProvider {
	return &reuse{t: t, src: src}
}

func (r *reuse) Token() (*Token, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.t.Valid() {
		return r.t, nil
	}
	t, err := r.src.Token()
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errors.New("oauth: the token provider returned no token")
	}
	r.t = t
	return t, nil
}
