// Package stream runs many concurrent HTTP/2 streams over one connection,
// in the client or the server role.
package stream
