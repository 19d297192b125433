// Package roundrobin implements the round_robin load-balancing policy,
// which keeps a connection to every address the resolver gives and sends
// each call to the next READY one in turn. Importing it registers the
// policy.
package roundrobin
