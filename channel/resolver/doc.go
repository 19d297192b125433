// Package resolver is the API between a channel and the resolvers that turn
// its target into addresses, with grpc-go's names: a Builder per scheme,
// registered with Register, builds a Resolver that pushes States to the
// channel's ClientConn whenever it learns something new.
package resolver
