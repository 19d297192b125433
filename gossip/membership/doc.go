// Package membership lets a client follow a gossip cluster without joining
// it: Register serves the Membership service (membershippb) of a member on
// its gRPC server, and a Watcher streams it from any member over one
// connection, reconnecting elsewhere when that member goes. A Watcher is a
// resolver.Source, so gossip:/// resolves through it as through a member;
// NewBuilder takes the members to stream from from the target,
// gossip://host:port,host:port/service.
package membership
