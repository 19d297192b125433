// Package connectivity defines the connectivity states of subchannels and
// channels (gRPC's connectivity-semantics-and-api document), with the
// names of grpc-go's package of the same name.
package connectivity
