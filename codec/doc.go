// Package codec turns messages into bytes and back (proto, JSON, raw) and compresses message bytes (gzip), with registries keyed by content subtype and encoding name.
package codec
