// Package base holds what the load-balancing policies share: a map keyed
// by address, the flattening and de-duplication of a resolver's address
// list, pickers that only fail, and Balancer, which keeps one connected
// subchannel per address and builds a picker over the READY ones (the core
// of round_robin and least_request).
package base
