// Package protoreg holds the descriptors and Go types of the protocols h2rpc
// itself implements (grpc.health.v1, grpc.reflection.v1 and v1alpha).
//
// Their generated code registers here instead of in protoregistry.GlobalFiles
// and GlobalTypes. grpc-go's generated code for the same protocols registers
// the same file contents and full names globally, and protobuf-go refuses a
// second global registration of a name (it panics at init by default), so a
// program that links both, as one does while it migrates, could not start if
// ours were global too. The reflection service looks symbols up here after
// the global registry.
package protoreg
