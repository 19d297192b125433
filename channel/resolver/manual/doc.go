// Package manual implements a resolver whose states a program or a test
// pushes by hand, with grpc-go's names: NewBuilderWithScheme returns a
// Resolver that is its own Builder.
package manual
