package protoreg

import "google.golang.org/protobuf/reflect/protoregistry"

// Files holds the file descriptors of h2rpc's own protocols. Generated code
// fills it at init; it is only read afterwards.
var Files = new(protoregistry.Files)

// Types holds the message and enum types of h2rpc's own protocols. Generated
// code fills it at init; it is only read afterwards.
var Types = new(protoregistry.Types)
