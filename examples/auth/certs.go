package auth

import (
	"crypto/tls"
	"crypto/x509"
	_ "embed"
)

// The example's test certificates; the keys are public, for the example
// only.
var (
	//go:embed testdata/ca.pem
	caPEM []byte
	//go:embed testdata/server.pem
	serverPEM []byte
	//go:embed testdata/server.key
	serverKeyPEM []byte
	//go:embed testdata/client.pem
	clientPEM []byte
	//go:embed testdata/client.key
	clientKeyPEM []byte
)

// ClientCommonName is the common name of the example's client certificate,
// the identity mTLS gives its calls.
const ClientCommonName = "h2rpc auth example test client"

// CAPool returns a pool holding the example's CA, which signed both
// certificates.
func CAPool() *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(caPEM) {
		panic("auth: the embedded CA is not a PEM certificate")
	}
	return p
}

// ServerCertificate returns the example's server certificate, for
// localhost, 127.0.0.1 and ::1.
func ServerCertificate() tls.Certificate { return keyPair(serverPEM, serverKeyPEM) }

// ClientCertificate returns the example's client certificate, for mTLS.
func ClientCertificate() tls.Certificate { return keyPair(clientPEM, clientKeyPEM) }

func keyPair(cert, key []byte) tls.Certificate {
	c, err := tls.X509KeyPair(cert, key)
	if err != nil {
		panic("auth: the embedded key pair does not load: " + err.Error())
	}
	return c
}
