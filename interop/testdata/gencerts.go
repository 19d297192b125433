//go:build ignore

// Gencerts writes the TLS test certificates of the interop programs: a CA
// (ca.pem) and a server certificate signed by it (server1.pem, server1.key)
// for *.test.google.fr, the name gRPC interop clients override the server
// name with, plus localhost and the loopback addresses. They are files,
// rather than made at run time, because h2rpc's interop server and client
// run as separate programs that must trust the same CA. They are valid for
// a century so that the checked-in files never need regenerating; run
//
//	go run gencerts.go
//
// in this directory only to replace them. The keys are public test keys:
// never trust ca.pem outside tests.
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
		Names:     []string{"*.test.google.fr", "localhost", "127.0.0.1", "::1"},
		Org:       "h2rpc interop",
		NotBefore: from,
		NotAfter:  from.AddDate(100, 0, 0),
	})
	if err != nil {
		log.Fatal(err)
	}
	write("ca.pem", c.CAPEM)
	write("server1.pem", c.ServerPEM)
	write("server1.key", c.ServerKeyPEM)
}

func write(name string, b []byte) {
	if err := os.WriteFile(name, b, 0o644); err != nil {
		log.Fatal(err)
	}
}
