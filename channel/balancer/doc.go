// Package balancer is the API between a channel and the load-balancing
// policies that spread its calls over subchannels, with grpc-go's names: a
// Builder per policy, registered with Register, builds a Balancer that
// makes SubConns and publishes a Picker, which the channel asks for a
// subchannel on every call.
package balancer
