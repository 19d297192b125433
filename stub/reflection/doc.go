// Package reflection implements gRPC server reflection
// (grpc.reflection.v1.ServerReflection and its predecessor
// grpc.reflection.v1alpha) for h2rpc servers, with the API of grpc-go's
// package reflection, so that grpcurl and other tools can list a server's
// services and describe them without the .proto files.
//
//	s := stub.NewServer()
//	helloworld.RegisterGreeterServer(s, &greeter{})
//	reflection.Register(s)
//
// The descriptors come from the registered services: a service is looked up
// by name in protobuf's global registry (where protoc-gen-go's code
// registers), then in h2rpc's own (health, reflection). A service
// described at run time can be served too, by giving its
// protoreflect.FileDescriptor as its ServiceDesc's Metadata, or through
// ServerOptions.DescriptorResolver. Each answer carries the file asked for
// and the files it imports, transitively, each file once per stream.
//
// A question that cannot be answered (an unknown file or symbol) gets an
// error_response with NOT_FOUND on the stream, which stays open.
package reflection
