package passthrough

import (
	"errors"

	"github.com/h2rpc/h2rpc/channel/resolver"
)

// Scheme is the target scheme the resolver serves.
const Scheme = "passthrough"

func init() {
	resolver.Register(NewBuilder())
}

// NewBuilder returns the builder of passthrough resolvers, the one
// registered for Scheme.
func NewBuilder() resolver.Builder { return builder{} }

type builder struct{}

// errEmptyTarget is Build's error for a target with no endpoint.
var errEmptyTarget = errors.New("passthrough: the target has no endpoint to pass to the dialer (want passthrough:///host:port)")

// Build pushes the target's endpoint as the channel's one address before
// it returns. An empty endpoint is an error, unless the channel has a
// dialer of its own (opts.Dialer), which may not need an address at all.
func (builder) Build(target resolver.Target, cc resolver.ClientConn, opts resolver.BuildOptions) (resolver.Resolver, error) {
	ep := target.Endpoint()
	if ep == "" && opts.Dialer == nil {
		return nil, errEmptyTarget
	}
	addrs := []resolver.Address{{Addr: ep}}
	// The channel's answer is of no use here: the address cannot change.
	_ = cc.UpdateState(resolver.State{Addresses: addrs, Endpoints: []resolver.Endpoint{{Addresses: addrs}}})
	return nopResolver{}, nil
}

func (builder) Scheme() string { return Scheme }

// nopResolver is a resolver with nothing to do after Build: its one state
// never changes.
type nopResolver struct{}

func (nopResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (nopResolver) Close()                                {}
