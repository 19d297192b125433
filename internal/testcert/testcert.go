package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// Certs is a test CA and the certificates it signed. Its keys are for tests
// only: never trust CA outside them.
type Certs struct {
	CA    *x509.Certificate
	CAPEM []byte
	// Pool holds only CA.
	Pool *x509.CertPool

	// Server is valid for the names it was made for, for server
	// authentication; ServerPEM and ServerKeyPEM are its certificate and
	// its PKCS #8 key.
	Server       tls.Certificate
	ServerPEM    []byte
	ServerKeyPEM []byte

	// Client, when asked for, is valid for client authentication; it has
	// the zero value otherwise.
	Client       tls.Certificate
	ClientPEM    []byte
	ClientKeyPEM []byte
}

// Options says what New makes.
type Options struct {
	// Names are what the server certificate is valid for: DNS names
	// (wildcards such as *.test.example allowed) and IP addresses. There
	// must be at least one.
	Names []string
	// Org is the organization of every subject, and names the CA ("Org
	// test CA"); "" means "h2rpc".
	Org string
	// NotBefore and NotAfter bound the validity of every certificate; zero
	// values mean an hour ago and a day from now.
	NotBefore, NotAfter time.Time
	// Client asks for a client certificate too.
	Client bool
}

// DefaultNames are the names the certificates of Get are for: the loopback
// host and addresses, and every name under test.example.
var DefaultNames = []string{"localhost", "*.test.example", "127.0.0.1", "::1"}

// New makes a CA and the certificates o asks for.
func New(o Options) (*Certs, error) {
	if len(o.Names) == 0 {
		return nil, errors.New("testcert: no names for the server certificate")
	}
	if o.Org == "" {
		o.Org = "h2rpc"
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(24 * time.Hour)
	}
	if !o.NotAfter.After(o.NotBefore) {
		return nil, fmt.Errorf("testcert: NotAfter %v is not after NotBefore %v", o.NotAfter, o.NotBefore)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{Organization: []string{o.Org}, CommonName: o.Org + " test CA"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := sign(caTmpl, o, nil, caKey, &caKey.PublicKey)
	if err != nil {
		return nil, err
	}
	c := &Certs{CAPEM: pemOf("CERTIFICATE", caDER), Pool: x509.NewCertPool()}
	if c.CA, err = x509.ParseCertificate(caDER); err != nil {
		return nil, err
	}
	c.Pool.AddCert(c.CA)

	srvTmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{o.Org}, CommonName: o.Names[0]},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range o.Names {
		if ip := net.ParseIP(n); ip != nil {
			srvTmpl.IPAddresses = append(srvTmpl.IPAddresses, ip)
		} else {
			srvTmpl.DNSNames = append(srvTmpl.DNSNames, n)
		}
	}
	if c.Server, c.ServerPEM, c.ServerKeyPEM, err = leaf(srvTmpl, o, c.CA, caKey); err != nil {
		return nil, err
	}
	if o.Client {
		cliTmpl := &x509.Certificate{
			Subject:     pkix.Name{Organization: []string{o.Org}, CommonName: o.Org + " test client"},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}
		if c.Client, c.ClientPEM, c.ClientKeyPEM, err = leaf(cliTmpl, o, c.CA, caKey); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// leaf makes a key and a certificate from tmpl that ca signs.
func leaf(tmpl *x509.Certificate, o Options, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (tls.Certificate, []byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	der, err := sign(tmpl, o, ca, caKey, &key.PublicKey)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, err
	}
	certPEM, keyPEM := pemOf("CERTIFICATE", der), pemOf("PRIVATE KEY", keyDER)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	return cert, certPEM, keyPEM, err
}

// sign completes tmpl with a random serial number and o's validity, and
// signs it with caKey as ca; a nil ca makes it self-signed.
func sign(tmpl *x509.Certificate, o Options, ca *x509.Certificate, caKey *ecdsa.PrivateKey, pub *ecdsa.PublicKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = o.NotBefore, o.NotAfter
	if ca == nil {
		ca = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("testcert: %v", err)
	}
	return der, nil
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

var defaultCerts = sync.OnceValues(func() (*Certs, error) {
	return New(Options{Names: DefaultNames, Client: true})
})

// Get returns this process's test certificates: a server certificate for
// DefaultNames and a client certificate, made on the first call and shared
// by every later one, which must not modify them. It fails t if they
// cannot be made.
func Get(t testing.TB) *Certs {
	t.Helper()
	c, err := defaultCerts()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
