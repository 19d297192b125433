// Package frame reads and writes HTTP/2 frames on a connection, with the
// settings, flow-control windows and batched writes that a transport needs.
package frame
