// Package interop implements the gRPC interoperability tests for h2rpc: the
// grpc.testing TestService (the server every interop client talks to) and
// the client test cases (empty_unary, large_unary, ... channel_soak, and the
// compression cases), each returning an error that says exactly what
// differed from what the case requires.
//
// The messages and services live in package grpc_testing, generated from
// .proto files that use grpc.testing's package, names and field numbers, so
// h2rpc's interop programs (h2rpc interop-server and interop-client) work
// against any other gRPC implementation's interop client and server.
//
// The test certificates (testdata/) are h2rpc's own, for *.test.google.fr.
package interop
