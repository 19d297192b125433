// Package credentials secures the connections of channels and servers, with TLS or with nothing at all, and describes the peer that a handshake authenticated.
package credentials
