// Package status represents the outcome of an RPC as a code, a message and optional details, and converts it to and from Go errors and the wire.
package status
