// Package peer describes the other end of an RPC and carries that description in a context.
package peer
