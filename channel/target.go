package channel

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/h2rpc/h2rpc/channel/resolver"
)

// parseTarget parses target as grpc-go's NewClient does: an RFC 3986 URI
// whose scheme has a resolver (one of WithResolvers, then the registered
// ones); otherwise "dns:///" + target.
func (cc *ClientConn) parseTarget(target string) (resolver.Target, resolver.Builder, error) {
	if strings.TrimSpace(target) == "" {
		return resolver.Target{}, nil, errors.New("grpc: empty target")
	}
	if u, err := url.Parse(target); err == nil && u.Scheme != "" {
		if b := cc.resolverFor(u.Scheme); b != nil {
			return resolver.Target{URL: *u}, b, nil
		}
		if strings.Contains(target, "://") {
			// Plainly a URI ("host:port" parses as one too, with the host
			// as its scheme, and falls through to dns).
			return resolver.Target{}, nil, fmt.Errorf("grpc: no resolver for the scheme %q of target %q (register one, or use WithResolvers)", u.Scheme, target)
		}
	}
	u, err := url.Parse("dns:///" + target)
	if err != nil {
		return resolver.Target{}, nil, fmt.Errorf("grpc: invalid target %q: %v", target, err)
	}
	b := cc.resolverFor("dns")
	if b == nil {
		return resolver.Target{}, nil, fmt.Errorf("grpc: no resolver for the scheme of %q, and none for dns", target)
	}
	return resolver.Target{URL: *u}, b, nil
}

// resolverFor returns the builder of scheme: the channel's own first.
func (cc *ClientConn) resolverFor(scheme string) resolver.Builder {
	for _, b := range cc.opts.resolvers {
		if strings.EqualFold(b.Scheme(), scheme) {
			return b
		}
	}
	return resolver.Get(scheme)
}

// defaultAuthority is the :authority of a target's calls: its endpoint,
// as grpc-go has it ("localhost" for unix sockets).
func defaultAuthority(t resolver.Target) string {
	switch t.URL.Scheme {
	case "unix", "unix-abstract":
		return "localhost"
	}
	ep := t.Endpoint()
	if ep == "" {
		if t.URL.Host != "" {
			return t.URL.Host
		}
		// A target that names nothing ("scheme:///"): HTTP/2 servers
		// refuse an empty :authority, so say localhost, as for unix.
		return "localhost"
	}
	if _, _, err := net.SplitHostPort(ep); err != nil && t.URL.Scheme == "dns" {
		return net.JoinHostPort(ep, "443")
	}
	return ep
}

// addrNetwork is the network an address is dialed on.
func addrNetwork(a resolver.Address) string {
	if n := resolver.Network(a); n != "" {
		return n
	}
	return "tcp"
}
