// Package announcer joins a stub.Server to a gossip node: the node's
// metadata carries the server's RPC address, services, health and load,
// kept current, and a graceful stop of the server leaves the cluster
// before it drains, so that gossip:/// clients stop picking it first.
//
// Health and services changes go out within Options.Interval (1 s); a
// change of load alone at most every Options.LoadInterval (10 s). Every
// metadata update is passed on by every member about 4·log10(n) times,
// so n servers that each announce a new load every T seconds cost each
// member about n/T × 4·log10(n) × 100 bytes a second: in the simulator,
// 230 of 256 members announcing every 10 s cost each member 23.6 KB/s,
// against 31 B/s with no updates.
package announcer
