package pickfirst

import (
	"net"
	"net/netip"

	"github.com/h2rpc/h2rpc/channel/resolver"
)

// family is an address family, for interleaving.
type family int

const (
	familyOther family = iota // not an IP address and port
	familyIPv4
	familyIPv6
)

func familyOf(addr string) family {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return familyOther
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return familyOther
	case ip.Is4() || ip.Is4In6():
		return familyIPv4
	}
	return familyIPv6
}

// interleave reorders addrs so that address families alternate, each
// family keeping its own order and the family of the first address going
// first (RFC 8305 section 4, as gRFC A61 asks). Addresses that are not an
// IP and port form a family of their own.
func interleave(addrs []resolver.Address) []resolver.Address {
	var order []family
	byFamily := map[family][]resolver.Address{}
	for _, a := range addrs {
		f := familyOf(a.Addr)
		if _, seen := byFamily[f]; !seen {
			order = append(order, f)
		}
		byFamily[f] = append(byFamily[f], a)
	}
	if len(order) < 2 {
		return addrs
	}
	out := make([]resolver.Address, 0, len(addrs))
	for len(out) < len(addrs) {
		for _, f := range order {
			if rest := byFamily[f]; len(rest) > 0 {
				out = append(out, rest[0])
				byFamily[f] = rest[1:]
			}
		}
	}
	return out
}
