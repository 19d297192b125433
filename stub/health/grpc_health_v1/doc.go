// Package grpc_health_v1 is the generated code of the gRPC health checking
// protocol (grpc.health.v1): its messages, the Health service's client and
// server API. Package health implements the service.
//
// Its descriptors are registered in h2rpc's own registry, not protobuf's
// global one, so a program may link grpc-go's grpc_health_v1 as well.
package grpc_health_v1
