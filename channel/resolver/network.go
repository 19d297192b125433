package resolver

// networkKey is the Attributes key under which SetNetwork stores the
// network a channel dials an address over.
type networkKey struct{}

// SetNetwork returns addr with network recorded in its Attributes: the
// network, as net.Dial names it ("tcp", "unix"), that a channel dials
// addr.Addr over. Resolvers of unix sockets set "unix"; addresses without
// one are dialed over TCP.
func SetNetwork(addr Address, network string) Address {
	addr.Attributes = addr.Attributes.WithValue(networkKey{}, network)
	return addr
}

// Network returns the network SetNetwork recorded in addr, or "" when it
// has none (the channel then dials "tcp").
func Network(addr Address) string {
	s, _ := addr.Attributes.Value(networkKey{}).(string)
	return s
}
