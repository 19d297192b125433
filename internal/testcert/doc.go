// Package testcert makes TLS certificates for tests, in memory: a CA, a
// server certificate it signed for given names, and a client certificate
// for mutual TLS, all with ECDSA P-256 keys.
package testcert
