package unix

import (
	"fmt"

	"github.com/h2rpc/h2rpc/channel/resolver"
)

// The schemes the package's builders serve.
const (
	Scheme         = "unix"
	AbstractScheme = "unix-abstract"
)

func init() {
	resolver.Register(NewBuilder())
	resolver.Register(NewAbstractBuilder())
}

// NewBuilder returns the builder of unix:path and unix:///path targets.
func NewBuilder() resolver.Builder { return builder{scheme: Scheme} }

// NewAbstractBuilder returns the builder of unix-abstract:name targets.
func NewAbstractBuilder() resolver.Builder { return builder{scheme: AbstractScheme} }

type builder struct{ scheme string }

// Build pushes the socket's address before it returns. A target with an
// authority (unix://host/path) or without a path is an error.
func (b builder) Build(target resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	if target.URL.Host != "" {
		return nil, fmt.Errorf("%s: target %q names host %q; a socket path has none (write %s:relative/path or %s:///absolute/path)",
			b.scheme, target.String(), target.URL.Host, b.scheme, b.scheme)
	}
	// The path keeps its leading slash: unix:///tmp/s is /tmp/s, not
	// the relative tmp/s that Target.Endpoint would give.
	path := target.URL.Path
	if path == "" {
		path = target.URL.Opaque
	}
	if path == "" {
		return nil, fmt.Errorf("%s: target %q has no socket path", b.scheme, target.String())
	}
	if b.scheme == AbstractScheme {
		// Package net dials a path starting with '@' in the abstract
		// namespace, without the trailing NUL bytes a sockaddr would
		// otherwise be padded with.
		path = "@" + path
	}
	addrs := []resolver.Address{resolver.SetNetwork(resolver.Address{Addr: path}, "unix")}
	// The channel's answer is of no use here: the address cannot change.
	_ = cc.UpdateState(resolver.State{Addresses: addrs, Endpoints: []resolver.Endpoint{{Addresses: addrs}}})
	return nopResolver{}, nil
}

func (b builder) Scheme() string { return b.scheme }

// OverrideAuthority returns "localhost": a socket path is no authority.
// It makes the builders resolver.AuthorityOverriders.
func (builder) OverrideAuthority(resolver.Target) string { return "localhost" }

// nopResolver is a resolver with nothing to do after Build: its one state
// never changes.
type nopResolver struct{}

func (nopResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (nopResolver) Close()                                {}
