package interop

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestTestCertificatesVerify(t *testing.T) {
	c := TestServerCertificate()
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{TestServerName, "localhost", "127.0.0.1"} {
		_, err := leaf.Verify(x509.VerifyOptions{
			DNSName:   name,
			Roots:     TestCertPool(),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			t.Errorf("verify for %q: %v", name, err)
		}
	}
	if left := time.Until(leaf.NotAfter); left < 50*365*24*time.Hour {
		t.Errorf("test server certificate expires in %v; regenerate with testdata/gencerts.go", left)
	}
}
