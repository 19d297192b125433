package resolver

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/h2rpc/h2rpc/channel/attributes"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// Address is one address a channel may connect to.
type Address struct {
	// Addr is what the dialer connects to: "host:port" for TCP, a path
	// for unix sockets.
	Addr string
	// ServerName, when set, replaces the channel's authority for calls on
	// this address and as the TLS server name.
	ServerName string
	// Attributes carry what the resolver tells the channel and the
	// balancer about this address; they make two addresses differ.
	Attributes *attributes.Attributes
	// BalancerAttributes are for the balancer only; they do not make two
	// addresses differ.
	BalancerAttributes *attributes.Attributes
}

// Equal reports whether a and o name the same address (BalancerAttributes
// aside).
func (a Address) Equal(o Address) bool {
	return a.Addr == o.Addr && a.ServerName == o.ServerName && a.Attributes.Equal(o.Attributes)
}

// String returns the address for logs.
func (a Address) String() string {
	if a.ServerName == "" {
		return a.Addr
	}
	return a.Addr + " (" + a.ServerName + ")"
}

// Endpoint is one server, reachable at any of its addresses.
type Endpoint struct {
	Addresses  []Address
	Attributes *attributes.Attributes
}

// State is what a resolver knows of its target.
type State struct {
	// Addresses are the target's addresses, one per server. A resolver
	// that sets Endpoints should set Addresses to their first addresses
	// too, for balancers that read only those.
	Addresses []Address
	// Endpoints are the target's servers, each with its addresses.
	Endpoints []Endpoint
	// ServiceConfig is the target's service config, parsed with
	// ClientConn.ParseServiceConfig; nil for none.
	ServiceConfig *serviceconfig.ParseResult
	// Attributes carry what the resolver tells the balancer.
	Attributes *attributes.Attributes
}

// ErrBadResolverState is returned by ClientConn.UpdateState when the
// balancer rejected the state (for example, an empty address list); the
// resolver should resolve again later.
var ErrBadResolverState = errors.New("bad resolver state")

// ClientConn is the channel as its resolver sees it. Its methods may be
// called at any time, from any goroutine, for as long as the resolver is
// open: a resolver pushes updates when it learns of them.
type ClientConn interface {
	// UpdateState hands the channel a new state.
	UpdateState(State) error
	// ReportError tells the channel that resolving failed; it keeps the
	// last good state and asks for a new resolution later.
	ReportError(error)
	// ParseServiceConfig parses a service config in JSON.
	ParseServiceConfig(serviceConfigJSON string) *serviceconfig.ParseResult
}

// Target is the parsed target of a channel, an RFC 3986 URI:
// scheme://authority/endpoint.
type Target struct {
	URL url.URL
}

// Endpoint returns the target's path without its leading slash, or its
// opaque part: what names the service to resolve.
func (t Target) Endpoint() string {
	ep := t.URL.Path
	if ep == "" {
		ep = t.URL.Opaque
	}
	return strings.TrimPrefix(ep, "/")
}

// String returns the target as a URI.
func (t Target) String() string { return t.URL.String() }

// BuildOptions are what a channel gives a resolver it builds.
type BuildOptions struct {
	// DisableServiceConfig is set when the channel ignores service
	// configs from resolvers.
	DisableServiceConfig bool
	// Dialer is the channel's dialer, for resolvers that talk to a
	// server of their own over it; nil for the default.
	Dialer func(context.Context, string) (net.Conn, error)
	// Authority is the channel's authority.
	Authority string
}

// Builder makes resolvers of one scheme.
type Builder interface {
	// Build starts resolving target, pushing states to cc.
	Build(target Target, cc ClientConn, opts BuildOptions) (Resolver, error)
	// Scheme is the target scheme the builder serves, in lowercase.
	Scheme() string
}

// ResolveNowOptions are the options of ResolveNow (none yet).
type ResolveNowOptions struct{}

// Resolver follows one target.
type Resolver interface {
	// ResolveNow is a hint to resolve again soon; it may be ignored.
	ResolveNow(ResolveNowOptions)
	// Close stops the resolver; it calls its ClientConn no more.
	Close()
}

var (
	mu            sync.RWMutex
	builders      = map[string]Builder{}
	defaultScheme = "passthrough"
)

// Register makes b the builder of its scheme for every channel. It is
// meant for init functions; a later registration of a scheme wins.
func Register(b Builder) {
	mu.Lock()
	defer mu.Unlock()
	builders[strings.ToLower(b.Scheme())] = b
}

// Get returns the registered builder of scheme, or nil.
func Get(scheme string) Builder {
	mu.RLock()
	defer mu.RUnlock()
	return builders[strings.ToLower(scheme)]
}

// SetDefaultScheme sets the scheme used for targets that have none
// registered (the channel's NewClient uses "dns" whatever this says, as
// grpc-go's does). Meant for init functions.
func SetDefaultScheme(scheme string) {
	mu.Lock()
	defer mu.Unlock()
	defaultScheme = scheme
}

// GetDefaultScheme returns the scheme SetDefaultScheme set, "passthrough"
// by default.
func GetDefaultScheme() string {
	mu.RLock()
	defer mu.RUnlock()
	return defaultScheme
}
