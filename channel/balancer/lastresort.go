package balancer

import "github.com/h2rpc/h2rpc/channel/resolver"

// lastResortKey marks an address, in its BalancerAttributes, as one to
// pick only when no other is READY.
type lastResortKey struct{}

// SetLastResort returns a with its BalancerAttributes marking it as a last
// resort: the policies built on the shared core (round_robin,
// least_request, and those beside them) pick it only when no READY address
// without the mark is left. A resolver sets it on a server it has doubts
// about, such as a gossip member under suspicion; since BalancerAttributes
// do not make two addresses differ, setting or clearing the mark keeps the
// address's connection.
func SetLastResort(a resolver.Address) resolver.Address {
	a.BalancerAttributes = a.BalancerAttributes.WithValue(lastResortKey{}, true)
	return a
}

// IsLastResort reports whether SetLastResort marked a.
func IsLastResort(a resolver.Address) bool {
	v, _ := a.BalancerAttributes.Value(lastResortKey{}).(bool)
	return v
}
