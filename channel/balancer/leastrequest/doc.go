// Package leastrequest implements the least_request_experimental
// load-balancing policy of gRFC A48: it keeps a connection to every address
// the resolver gives, and sends each call to whichever of a few READY
// subchannels, drawn at random, has the fewest calls in flight. Importing
// it registers the policy.
package leastrequest
