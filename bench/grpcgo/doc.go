// Package grpcgo runs h2rpc and grpc-go side by side on the same work: the
// same service (hand-written descriptors, as generated code would declare
// them), the same protobuf message type, one h2c connection over loopback
// TCP and default settings on both sides.
//
// It is a module of its own so that the h2rpc module never depends on
// grpc-go; TestCoreModuleDoesNotImportGRPC checks that it does not.
//
// The benchmarks are in bench_test.go; cmd/compare reads their output and
// prints the two stacks side by side with the ratios and the design targets.
// `make compare` at the repository root runs both.
package grpcgo
