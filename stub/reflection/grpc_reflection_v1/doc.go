// Package grpc_reflection_v1 is the generated code of the gRPC server
// reflection protocol (grpc.reflection.v1): its messages, the
// ServerReflection service's client and server API. Package reflection
// implements the service.
//
// Its descriptors are registered in h2rpc's own registry, not protobuf's
// global one, so a program may link grpc-go's grpc_reflection_v1 as well.
package grpc_reflection_v1
