// Package resolvertest provides a resolver.ClientConn that records what a
// resolver tells it, for the tests of the built-in resolvers.
package resolvertest
