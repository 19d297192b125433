// Package serviceconfig defines the types that carry a parsed service
// config between resolvers, the channel and balancers, with the names of
// grpc-go's package of the same name.
package serviceconfig
