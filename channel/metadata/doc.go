// Package metadata carries the custom headers and trailers of RPCs, and the helpers that check and encode them for the wire.
package metadata
