// Package testutils is a fake channel for testing load-balancing policies:
// a balancer.ClientConn that records what its balancer publishes, and
// SubConns whose state changes the test drives, checked against the
// subchannel state machine. Only tests import it.
package testutils
