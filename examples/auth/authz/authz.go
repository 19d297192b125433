package authz

import (
	"context"
	"crypto/subtle"
	"strings"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/peer"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stub"
)

// Principal names who calls: "user:NAME" for a bearer token's user,
// "cert:COMMON-NAME" for a verified client certificate's subject.
type Principal string

// Policy authenticates and authorizes calls. Its fields are read-only once
// the interceptors run.
type Policy struct {
	// Tokens maps each valid bearer token to its user's name.
	Tokens map[string]string
	// Allow maps a full method name ("/package.Service/Method") to the
	// principals that may call it; a method not listed may be called by
	// no one.
	Allow map[string][]Principal
}

type identityKey struct{}

// Identity returns the principals a call was authenticated as, in a
// handler behind the Policy's interceptors: the token's user, then the
// certificate's subject, whichever the call had.
func Identity(ctx context.Context) []Principal {
	p, _ := ctx.Value(identityKey{}).([]Principal)
	return p
}

// authenticate returns the principals of the call ctx belongs to, or
// UNAUTHENTICATED: a call needs a valid bearer token or a verified client
// certificate, and a token that is sent must be valid.
func (p *Policy) authenticate(ctx context.Context) ([]Principal, error) {
	var who []Principal
	md, _ := metadata.FromIncomingContext(ctx)
	if vs := md.Get("authorization"); len(vs) > 0 {
		token, ok := strings.CutPrefix(vs[0], "Bearer ")
		user, valid := p.user(token)
		if !ok || len(vs) > 1 || !valid {
			return nil, status.Error(codes.Unauthenticated, "invalid bearer token")
		}
		who = append(who, Principal("user:"+user))
	}
	if pr, ok := peer.FromContext(ctx); ok {
		if ti, ok := pr.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.VerifiedChains) > 0 {
			who = append(who, Principal("cert:"+ti.State.VerifiedChains[0][0].Subject.CommonName))
		}
	}
	if len(who) == 0 {
		return nil, status.Error(codes.Unauthenticated, "missing bearer token or client certificate")
	}
	return who, nil
}

// user returns the user of token, comparing it with every valid token in
// constant time.
func (p *Policy) user(token string) (string, bool) {
	found, user := 0, ""
	for t, u := range p.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			found, user = 1, u
		}
	}
	return user, found == 1 && token != ""
}

// authorize fails with PERMISSION_DENIED unless one of who may call method.
func (p *Policy) authorize(method string, who []Principal) error {
	for _, allowed := range p.Allow[method] {
		for _, w := range who {
			if w == allowed {
				return nil
			}
		}
	}
	return status.Errorf(codes.PermissionDenied, "%v may not call %s", who, method)
}

func (p *Policy) check(ctx context.Context, method string) (context.Context, error) {
	who, err := p.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if err := p.authorize(method, who); err != nil {
		return nil, err
	}
	return context.WithValue(ctx, identityKey{}, who), nil
}

// UnaryInterceptor checks unary calls.
func (p *Policy) UnaryInterceptor() stub.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *stub.UnaryServerInfo, h stub.UnaryHandler) (any, error) {
		ctx, err := p.check(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

// StreamInterceptor checks streaming calls.
func (p *Policy) StreamInterceptor() stub.StreamServerInterceptor {
	return func(srv any, ss stub.ServerStream, info *stub.StreamServerInfo, h stub.StreamHandler) error {
		ctx, err := p.check(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return h(srv, &identityStream{ServerStream: ss, ctx: ctx})
	}
}

// identityStream is a stream whose context carries the caller's identity.
type identityStream struct {
	stub.ServerStream
	ctx context.Context
}

func (s *identityStream) Context() context.Context { return s.ctx }
