// Package pickfirst implements the pick_first load-balancing policy (gRFCs
// A62 and A61): it connects to the resolver's addresses one after the
// other, starting the next one early when a connection attempt is slow
// (Happy Eyeballs), and sends every call over the first connection that
// succeeds. It is gRPC's default policy; importing the package
// registers it.
package pickfirst
