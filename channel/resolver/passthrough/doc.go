// Package passthrough implements the "passthrough" resolver, which hands a
// target's endpoint to the channel as its one address, unchanged, for the
// dialer to make sense of. Importing it registers it.
package passthrough
