// Package bufpool keeps byte buffers in size classes for reuse across
// connections, so that idle connections hold no buffers of their own.
package bufpool
