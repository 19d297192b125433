package interop

import (
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"fmt"
)

// The interop test certificates, made by testdata/gencerts.go: a test CA and
// a server certificate it signed for *.test.google.fr, localhost, 127.0.0.1
// and ::1. They are for tests only; the keys are public.
var (
	//go:embed testdata/ca.pem
	testCAPEM []byte
	//go:embed testdata/server1.pem
	testServerCertPEM []byte
	//go:embed testdata/server1.key
	testServerKeyPEM []byte
)

// TestServerName is the name interop clients verify the test server
// certificate against (--server_host_override): it matches *.test.google.fr.
const TestServerName = "foo.test.google.fr"

// TestCAPEM returns the PEM of the CA that signed the test server certificate.
func TestCAPEM() []byte { return append([]byte(nil), testCAPEM...) }

// TestCertPool returns a pool holding only the test CA.
func TestCertPool() *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(testCAPEM) {
		panic("interop: the embedded test CA is not a PEM certificate")
	}
	return p
}

// TestServerCertificate returns the test server certificate and its key.
func TestServerCertificate() tls.Certificate {
	c, err := tls.X509KeyPair(testServerCertPEM, testServerKeyPEM)
	if err != nil {
		panic(fmt.Sprintf("interop: the embedded test server certificate does not load: %v", err))
	}
	return c
}
