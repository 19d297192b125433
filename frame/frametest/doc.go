// Package frametest writes HTTP/2 frames that the protocol forbids, for tests of misbehaving peers.
package frametest
