package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

func verify(c *Certs, der []byte, name string, usage x509.ExtKeyUsage) error {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: c.Pool, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err
}

func TestServerCertificateNames(t *testing.T) {
	c := Get(t)
	for _, name := range []string{"localhost", "foo.test.example", "bar.test.example", "127.0.0.1", "::1"} {
		if err := verify(c, c.Server.Certificate[0], name, x509.ExtKeyUsageServerAuth); err != nil {
			t.Errorf("server certificate for %q: %v", name, err)
		}
	}
	for _, name := range []string{"example.com", "test.example", "a.b.test.example", "10.0.0.1", "localhost.localdomain"} {
		if err := verify(c, c.Server.Certificate[0], name, x509.ExtKeyUsageServerAuth); err == nil {
			t.Errorf("server certificate verifies for %q", name)
		}
	}
	if err := verify(c, c.Server.Certificate[0], "localhost", x509.ExtKeyUsageClientAuth); err == nil {
		t.Error("server certificate verifies for client authentication")
	}
}

func TestClientCertificate(t *testing.T) {
	c := Get(t)
	if err := verify(c, c.Client.Certificate[0], "", x509.ExtKeyUsageClientAuth); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	if err := verify(c, c.Client.Certificate[0], "", x509.ExtKeyUsageServerAuth); err == nil {
		t.Error("client certificate verifies for server authentication")
	}
	if n, err := New(Options{Names: []string{"x.test"}}); err != nil || n.Client.Certificate != nil || n.ClientPEM != nil {
		t.Errorf("New without Client: client %v, %v", n.Client.Certificate, err)
	}
}

func TestPEMAndKeys(t *testing.T) {
	c := Get(t)
	for _, tc := range []struct {
		name, typ string
		pem       []byte
	}{
		{"CA", "CERTIFICATE", c.CAPEM},
		{"server", "CERTIFICATE", c.ServerPEM},
		{"server key", "PRIVATE KEY", c.ServerKeyPEM},
		{"client", "CERTIFICATE", c.ClientPEM},
		{"client key", "PRIVATE KEY", c.ClientKeyPEM},
	} {
		b, rest := pem.Decode(tc.pem)
		if b == nil || b.Type != tc.typ || len(rest) != 0 {
			t.Errorf("%s PEM: block %v, %d bytes left", tc.name, b, len(rest))
		}
	}
	if b, _ := pem.Decode(c.CAPEM); b == nil || string(b.Bytes) != string(c.CA.Raw) {
		t.Error("CAPEM is not CA")
	}
	if !c.CA.IsCA || c.CA.Subject.CommonName != "h2rpc test CA" {
		t.Errorf("CA: IsCA %v, subject %q", c.CA.IsCA, c.CA.Subject)
	}
	for name, key := range map[string]any{"server": c.Server.PrivateKey, "client": c.Client.PrivateKey} {
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok || k.Curve != elliptic.P256() {
			t.Errorf("%s key is %T, want an ECDSA P-256 key", name, key)
		}
	}
	if _, err := tls.X509KeyPair(c.ServerPEM, c.ServerKeyPEM); err != nil {
		t.Errorf("server PEM pair: %v", err)
	}
}

func TestGetIsMadeOnce(t *testing.T) {
	if a, b := Get(t), Get(t); a != b {
		t.Fatal("Get made the certificates twice")
	}
}

func TestValidity(t *testing.T) {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(100, 0, 0)
	c, err := New(Options{Names: []string{"*.test.google.fr"}, Org: "other", NotBefore: from, NotAfter: to, Client: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, der := range [][]byte{c.CA.Raw, c.Server.Certificate[0], c.Client.Certificate[0]} {
		x, _ := x509.ParseCertificate(der)
		if !x.NotBefore.Equal(from) || !x.NotAfter.Equal(to) || x.Subject.Organization[0] != "other" {
			t.Errorf("%q: valid %v to %v, organization %q", x.Subject.CommonName, x.NotBefore, x.NotAfter, x.Subject.Organization)
		}
	}
	if c.CA.Subject.CommonName != "other test CA" {
		t.Errorf("CA named %q", c.CA.Subject.CommonName)
	}
	if err := verify(c, c.Server.Certificate[0], "foo.test.google.fr", x509.ExtKeyUsageServerAuth); err != nil {
		t.Error(err)
	}
}

func TestBadOptions(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, "no names"},
		{Options{Names: []string{"a"}, NotBefore: now, NotAfter: now}, "is not after"},
		{Options{Names: []string{"a"}, NotBefore: now, NotAfter: now.Add(-time.Second)}, "is not after"},
	} {
		if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error saying %q", tc.o, err, tc.want)
		}
	}
}

// TestMutualTLS completes a handshake in which each side checks the other's
// certificate against the CA.
func TestMutualTLS(t *testing.T) {
	leakcheck.Check(t)
	c := Get(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{c.Server}, ClientCAs: c.Pool, ClientAuth: tls.RequireAndVerifyClientCert})
	cli := tls.Client(b, &tls.Config{Certificates: []tls.Certificate{c.Client}, RootCAs: c.Pool, ServerName: "foo.test.example"})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server: %v", err)
	}
	if got := srv.ConnectionState().PeerCertificates; len(got) == 0 || got[0].Subject.CommonName != "h2rpc test client" {
		t.Errorf("server saw client certificates %v", got)
	}
}
