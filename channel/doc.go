// Package channel carries gRPC calls over HTTP/2 streams: request and
// response headers, length-prefixed messages, compression, metadata,
// deadlines, cancellation and status, for clients and servers. Messages are
// bytes here; typed messages and codecs belong to the stub layer.
package channel
