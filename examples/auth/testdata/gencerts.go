//go:build ignore

// Gencerts writes the TLS certificates of the auth example: a CA (ca.pem),
// a server certificate it signed (server.pem, server.key) for localhost
// and the loopback addresses, and a client certificate for mTLS
// (client.pem, client.key) whose subject's common name is the client's
// identity, "h2rpc auth example test client". They are files because the
// example's server and client run as separate programs that must trust
// the same CA. They are valid for a century; run
//
//	go run gencerts.go
//
// in this directory only to replace them. The keys are public test keys:
// never trust ca.pem outside the example.
package main

import (
	"log"
	"os"
	"time"

	"github.com/h2rpc/h2rpc/internal/testcert"
)

func main() {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := testcert.New(testcert.Options{
		Names:     []string{"localhost", "127.0.0.1", "::1"},
		Org:       "h2rpc auth example",
		NotBefore: from,
		NotAfter:  from.AddDate(100, 0, 0),
		Client:    true,
	})
	if err != nil {
		log.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"ca.pem": c.CAPEM, "server.pem": c.ServerPEM, "server.key": c.ServerKeyPEM,
		"client.pem": c.ClientPEM, "client.key": c.ClientKeyPEM,
	} {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
