package credentials

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// alpnProto is the ALPN protocol ID of HTTP/2 over TLS.
const alpnProto = "h2"

// TLSInfo is the AuthInfo of a TLS handshake.
type TLSInfo struct {
	// State is the state of the TLS connection after the handshake. On a
	// server that verifies client certificates (mTLS), the client's
	// verified chains are in State.VerifiedChains.
	State tls.ConnectionState
	// CommonAuthInfo states PrivacyAndIntegrity.
	CommonAuthInfo
}

// AuthType returns "tls".
func (TLSInfo) AuthType() string { return "tls" }

// Errors of the ALPN checks made after a handshake.
var (
	// ErrServerALPN means the server selected an ALPN protocol other than h2.
	ErrServerALPN = errors.New("credentials: server did not negotiate ALPN h2")
	// ErrClientALPN means the client offered ALPN protocols, none of them h2.
	ErrClientALPN = errors.New("credentials: client did not offer ALPN h2")
)

type tlsCreds struct {
	config *tls.Config
}

// NewTLS returns TLS credentials built from a copy of cfg (nil means an
// empty config). The copy lists "h2" first in NextProtos. On the client, an
// empty ServerName defaults to the host part of the authority dialled; on
// the server, TLS 1.2 is the lowest version accepted. After the handshake,
// a peer that negotiated ALPN must have agreed on h2.
func NewTLS(cfg *tls.Config) TransportCredentials {
	var c *tls.Config
	if cfg == nil {
		c = &tls.Config{}
	} else {
		c = cfg.Clone()
	}
	protos := make([]string, 1, len(c.NextProtos)+1)
	protos[0] = alpnProto
	for _, p := range c.NextProtos {
		if p != alpnProto {
			protos = append(protos, p)
		}
	}
	c.NextProtos = protos
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return &tlsCreds{config: c}
}

// NewClientTLSFromCert returns client credentials that trust the roots in
// cp (nil means the system roots) and, if serverNameOverride is not empty,
// check the server's certificate for that name instead of the authority's.
func NewClientTLSFromCert(cp *x509.CertPool, serverNameOverride string) TransportCredentials {
	return NewTLS(&tls.Config{ServerName: serverNameOverride, RootCAs: cp})
}

// NewClientTLSFromFile returns client credentials that trust the PEM
// certificates in certFile, as NewClientTLSFromCert does.
func NewClientTLSFromFile(certFile, serverNameOverride string) (TransportCredentials, error) {
	b, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("credentials: reading roots: %w", err)
	}
	cp := x509.NewCertPool()
	if !cp.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("credentials: no PEM certificates in %s", certFile)
	}
	return NewClientTLSFromCert(cp, serverNameOverride), nil
}

// NewServerTLSFromCert returns server credentials presenting cert.
func NewServerTLSFromCert(cert *tls.Certificate) TransportCredentials {
	return NewTLS(&tls.Config{Certificates: []tls.Certificate{*cert}})
}

// NewServerTLSFromFile returns server credentials presenting the PEM
// certificate chain in certFile with the PEM private key in keyFile.
func NewServerTLSFromFile(certFile, keyFile string) (TransportCredentials, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("credentials: loading key pair: %w", err)
	}
	return NewServerTLSFromCert(&cert), nil
}

// Info returns SecurityProtocol "tls".
func (c *tlsCreds) Info() ProtocolInfo {
	return ProtocolInfo{SecurityProtocol: "tls"}
}

// Clone returns credentials with a copy of the config.
func (c *tlsCreds) Clone() TransportCredentials {
	cfg := c.config.Clone()
	// tls.Config.Clone shares slices; NextProtos is ours, so copy it.
	cfg.NextProtos = append([]string(nil), cfg.NextProtos...)
	return &tlsCreds{config: cfg}
}

// hostOf returns the host part of an authority, without brackets or port.
func hostOf(authority string) string {
	if host, _, err := net.SplitHostPort(authority); err == nil {
		return host
	}
	return strings.TrimSuffix(strings.TrimPrefix(authority, "["), "]")
}

func (c *tlsCreds) ClientHandshake(ctx context.Context, authority string, rawConn net.Conn) (net.Conn, AuthInfo, error) {
	cfg := c.config
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = hostOf(authority)
	}
	conn := tls.Client(rawConn, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		conn.Close()
		if strings.Contains(err.Error(), "no application protocol") {
			// The server speaks ALPN but not h2: say so plainly.
			return nil, nil, fmt.Errorf("%w: TLS handshake with %s: %w", ErrServerALPN, authority, err)
		}
		return nil, nil, fmt.Errorf("credentials: TLS handshake with %s: %w", authority, err)
	}
	state := conn.ConnectionState()
	// An empty NegotiatedProtocol means the server does not speak ALPN,
	// which is allowed; anything other than h2 is another protocol.
	if p := state.NegotiatedProtocol; p != "" && p != alpnProto {
		conn.Close()
		return nil, nil, fmt.Errorf("%w (it chose %q)", ErrServerALPN, p)
	}
	return conn, TLSInfo{State: state, CommonAuthInfo: CommonAuthInfo{SecurityLevel: PrivacyAndIntegrity}}, nil
}

func (c *tlsCreds) ServerHandshake(rawConn net.Conn) (net.Conn, AuthInfo, error) {
	// Record the client's ALPN offer: Go lets a client that offers only
	// http/1.1 connect to an h2 server without ALPN, which gRPC must refuse.
	var offered []string
	cfg := c.config.Clone()
	userHook := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		offered = hello.SupportedProtos
		if userHook != nil {
			return userHook(hello)
		}
		return nil, nil
	}
	conn := tls.Server(rawConn, cfg)
	if err := conn.Handshake(); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("credentials: TLS handshake with %v: %w", rawConn.RemoteAddr(), err)
	}
	state := conn.ConnectionState()
	if state.NegotiatedProtocol != alpnProto && len(offered) > 0 {
		conn.Close()
		return nil, nil, fmt.Errorf("%w (it offered %q)", ErrClientALPN, offered)
	}
	return conn, TLSInfo{State: state, CommonAuthInfo: CommonAuthInfo{SecurityLevel: PrivacyAndIntegrity}}, nil
}
