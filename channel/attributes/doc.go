// Package attributes holds the immutable key-value sets that resolvers and
// balancers pass along with addresses, with the names of grpc-go's package
// of the same name.
package attributes
