// Package hpack encodes, decodes and validates HTTP/2 header blocks for gRPC.
package hpack
