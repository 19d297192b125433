// Package announcer joins a stub.Server to a gossip node: the node's
// metadata carries the server's RPC address, services, health and load,
// kept current, and a graceful stop of the server leaves the cluster
// before it drains, so that gossip:/// clients stop picking it first.
package announcer
