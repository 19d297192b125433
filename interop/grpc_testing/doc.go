// Package grpc_testing holds the messages and services of gRPC's interop
// tests (proto package grpc.testing), wire-compatible with other gRPC
// implementations.
package grpc_testing
