// Command protoc-gen-go-h2rpc is a protoc plugin that generates h2rpc client
// and server code for the services in .proto files.
//
// It writes <name>_h2rpc.pb.go beside the <name>.pb.go that protoc-gen-go
// writes for the messages. The generated code has the shape grpc-go users
// know (NewGreeterClient, GreeterServer, UnimplementedGreeterServer,
// RegisterGreeterServer, Greeter_ServiceDesc, Greeter_SayHello_FullMethodName),
// built on package github.com/h2rpc/h2rpc/stub, so moving a grpc-go program
// to h2rpc is mostly a change of imports.
//
// With protoc, both plugins on PATH:
//
//	protoc --go_out=. --go_opt=paths=source_relative \
//	    --go-h2rpc_out=. --go-h2rpc_opt=paths=source_relative \
//	    helloworld/helloworld.proto
//
// With buf, a buf.gen.yaml beside buf.yaml (buf runs local plugins exactly as
// protoc does):
//
//	version: v2
//	plugins:
//	  - local: protoc-gen-go
//	    out: .
//	    opt: paths=source_relative
//	  - local: protoc-gen-go-h2rpc
//	    out: .
//	    opt: paths=source_relative
//
// Then run `buf generate`.
//
// It takes proto2 and proto3 files and editions up to 2024 (it declares
// FEATURE_PROTO3_OPTIONAL and FEATURE_SUPPORTS_EDITIONS, EDITION_PROTO2 to
// EDITION_2024). A compiler that knows editions is needed for a file that
// declares one: buf, or protoc 27 and later; protoc 3.21 refuses
// `edition = "2023"` before any plugin runs.
//
// Options (--go-h2rpc_opt, comma separated):
//
//	paths=import|source_relative   where output files go, as for protoc-gen-go
//	module=<prefix>                strip a module prefix from output paths
//	M<file>=<go import path>       import path of a .proto file
//	require_unimplemented_servers  false lets XServer implementations omit
//	                               the embedded UnimplementedXServer (default true)
//
// Generated code asserts stub.SupportPackageIsVersion1, so it fails to
// compile against a stub package too old to support it.
package main
