package credentials

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/internal/testcert"
)

type result struct {
	conn net.Conn
	info AuthInfo
	err  error
}

// tcpPair returns the two ends of a loopback TCP connection. (An in-memory
// pipe has no buffer, and TLS peers that fail mid-handshake can deadlock on
// it, both writing.)
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	return client, server
}

// handshake runs both sides over a loopback connection.
func handshake(t *testing.T, client, server TransportCredentials, authority string) (c, s result) {
	t.Helper()
	cc, sc := tcpPair(t)
	sc.SetDeadline(time.Now().Add(10 * time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		var r result
		r.conn, r.info, r.err = server.ServerHandshake(sc)
		done <- r
	}()
	c.conn, c.info, c.err = client.ClientHandshake(ctx, authority, cc)
	if c.err == nil {
		// In TLS 1.3 the client finishes before the server has checked
		// its certificate; read, so that a rejecting alert is consumed.
		// It ends when the test closes the connection.
		go io.Copy(io.Discard, c.conn)
	}
	s = <-done
	t.Cleanup(func() {
		cc.Close()
		sc.Close()
	})
	return c, s
}

func TestHandshake(t *testing.T) {
	p := testcert.Get(t)
	serverCreds := NewServerTLSFromCert(&p.Server)
	mtlsServer := NewTLS(&tls.Config{
		Certificates: []tls.Certificate{p.Server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    p.Pool,
	})
	tests := []struct {
		name       string
		client     TransportCredentials
		server     TransportCredentials
		authority  string
		wantErr    string
		clientCert bool
	}{
		{name: "server name from authority", client: NewClientTLSFromCert(p.Pool, ""), server: serverCreds, authority: "localhost:443"},
		{name: "authority without port", client: NewClientTLSFromCert(p.Pool, ""), server: serverCreds, authority: "localhost"},
		{name: "IP authority", client: NewClientTLSFromCert(p.Pool, ""), server: serverCreds, authority: "127.0.0.1:50051"},
		{name: "override", client: NewClientTLSFromCert(p.Pool, "foo.test.example"), server: serverCreds, authority: "10.1.1.1:50051"},
		{name: "wrong name", client: NewClientTLSFromCert(p.Pool, ""), server: serverCreds, authority: "other.example:443", wantErr: "certificate"},
		{name: "wrong override", client: NewClientTLSFromCert(p.Pool, "bar.example"), server: serverCreds, authority: "localhost:443", wantErr: "certificate"},
		{name: "untrusted", client: NewClientTLSFromCert(x509.NewCertPool(), ""), server: serverCreds, authority: "localhost:443", wantErr: "certificate"},
		{name: "client cert", client: NewTLS(&tls.Config{RootCAs: p.Pool, Certificates: []tls.Certificate{p.Client}}),
			server: mtlsServer, authority: "localhost:443", clientCert: true},
		{name: "missing client cert", client: NewClientTLSFromCert(p.Pool, ""), server: mtlsServer, authority: "localhost:443", wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			c, s := handshake(t, tt.client, tt.server, tt.authority)
			if tt.wantErr != "" {
				if c.err == nil && s.err == nil {
					t.Fatal("handshake succeeded")
				}
				if c.err != nil && !strings.Contains(c.err.Error(), tt.wantErr) && s.err == nil {
					t.Fatalf("client error %v, want one mentioning %q", c.err, tt.wantErr)
				}
				return
			}
			if c.err != nil || s.err != nil {
				t.Fatalf("client: %v, server: %v", c.err, s.err)
			}
			ci, si := c.info.(TLSInfo), s.info.(TLSInfo)
			if ci.AuthType() != "tls" || si.AuthType() != "tls" {
				t.Fatal("AuthType is not tls")
			}
			if ci.State.NegotiatedProtocol != "h2" || si.State.NegotiatedProtocol != "h2" {
				t.Fatalf("ALPN: %q, %q", ci.State.NegotiatedProtocol, si.State.NegotiatedProtocol)
			}
			if ci.State.Version < tls.VersionTLS12 {
				t.Fatalf("version %x", ci.State.Version)
			}
			if got := len(si.State.PeerCertificates) > 0; got != tt.clientCert {
				t.Fatalf("server saw a client certificate: %v, want %v", got, tt.clientCert)
			}
			if tt.clientCert && !bytes.Equal(si.State.PeerCertificates[0].Raw, p.Client.Certificate[0]) {
				t.Fatalf("client certificate %v", si.State.PeerCertificates[0].Subject)
			}
			// The secured conns carry data.
			go c.conn.Write([]byte("ping"))
			buf := make([]byte, 4)
			if _, err := s.conn.Read(buf); err != nil || string(buf) != "ping" {
				t.Fatalf("read %q, %v", buf, err)
			}
			c.conn.Close()
			s.conn.Close()
		})
	}
}

func TestALPN(t *testing.T) {
	p := testcert.Get(t)
	plainServer := func(protos ...string) TransportCredentials {
		return rawTLS{server: &tls.Config{Certificates: []tls.Certificate{p.Server}, NextProtos: protos}}
	}
	plainClient := func(protos ...string) TransportCredentials {
		return rawTLS{client: &tls.Config{RootCAs: p.Pool, NextProtos: protos}}
	}
	tests := []struct {
		name          string
		client        TransportCredentials
		server        TransportCredentials
		wantClientErr error
		wantServerErr error
	}{
		{name: "server chooses another protocol", client: NewTLS(&tls.Config{RootCAs: p.Pool, NextProtos: []string{"foo"}}),
			server: plainServer("foo"), wantClientErr: ErrServerALPN},
		{name: "server speaks no h2", client: NewClientTLSFromCert(p.Pool, ""), server: plainServer("http/1.1"), wantClientErr: ErrServerALPN},
		{name: "server without ALPN", client: NewClientTLSFromCert(p.Pool, ""), server: plainServer()},
		{name: "client offers only http/1.1", client: plainClient("http/1.1"), server: NewServerTLSFromCert(&p.Server), wantServerErr: ErrClientALPN},
		{name: "client without ALPN", client: plainClient(), server: NewServerTLSFromCert(&p.Server)},
		{name: "client offers h2 last", client: plainClient("http/1.1", "h2"), server: NewServerTLSFromCert(&p.Server)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leakcheck.Check(t)
			c, s := handshake(t, tt.client, tt.server, "localhost:443")
			switch {
			case tt.wantClientErr != nil:
				if !errors.Is(c.err, tt.wantClientErr) {
					t.Fatalf("client error %v, want %v", c.err, tt.wantClientErr)
				}
			case tt.wantServerErr != nil:
				if !errors.Is(s.err, tt.wantServerErr) {
					t.Fatalf("server error %v, want %v", s.err, tt.wantServerErr)
				}
			default:
				if c.err != nil || s.err != nil {
					t.Fatalf("client: %v, server: %v", c.err, s.err)
				}
			}
		})
	}
}

// rawTLS is a peer using crypto/tls directly, without this package's checks.
type rawTLS struct {
	client, server *tls.Config
}

func (r rawTLS) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, AuthInfo, error) {
	cfg := r.client.Clone()
	cfg.ServerName = hostOf(authority)
	c := tls.Client(conn, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		return nil, nil, err
	}
	return c, TLSInfo{State: c.ConnectionState()}, nil
}

func (r rawTLS) ServerHandshake(conn net.Conn) (net.Conn, AuthInfo, error) {
	c := tls.Server(conn, r.server)
	if err := c.Handshake(); err != nil {
		return nil, nil, err
	}
	return c, TLSInfo{State: c.ConnectionState()}, nil
}

func (rawTLS) Info() ProtocolInfo            { return ProtocolInfo{SecurityProtocol: "tls"} }
func (r rawTLS) Clone() TransportCredentials { return r }

func TestHandshakeContextCancel(t *testing.T) {
	leakcheck.Check(t)
	p := testcert.Get(t)
	creds := NewClientTLSFromCert(p.Pool, "")
	cc, sc := net.Pipe()
	defer sc.Close()
	// The server end never reads, so the ClientHello write stalls.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := creds.ClientHandshake(ctx, "localhost:443", cc)
	if err == nil {
		t.Fatal("stalled handshake succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want one wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("handshake took %v to notice the deadline", d)
	}
	// The raw conn was closed: writing to its other end fails.
	if _, err := sc.Write([]byte("x")); err == nil {
		t.Fatal("raw conn left open after a failed handshake")
	}
}

func TestLoopback(t *testing.T) {
	leakcheck.Check(t)
	p := testcert.Get(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	serverCreds, err := NewServerTLSFromFile(write("server.pem", p.ServerPEM), write("server.key", p.ServerKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	clientCreds, err := NewClientTLSFromFile(write("ca.pem", p.CAPEM), "")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		conn, _, err := serverCreds.ServerHandshake(raw)
		if err != nil {
			done <- err
			return
		}
		_, err = conn.Write([]byte("hello"))
		conn.Close()
		done <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, info, err := clientCreds.ClientHandshake(ctx, ln.Addr().String(), raw)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 5)
	if _, err := conn.Read(buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if info.(TLSInfo).State.NegotiatedProtocol != "h2" {
		t.Fatalf("ALPN %q", info.(TLSInfo).State.NegotiatedProtocol)
	}
}

func TestFileErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	if _, err := NewClientTLSFromFile(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("missing roots file accepted")
	}
	if _, err := NewClientTLSFromFile(junk, ""); err == nil {
		t.Error("roots file without certificates accepted")
	}
	if _, err := NewServerTLSFromFile(junk, junk); err == nil {
		t.Error("bad key pair accepted")
	}
}

func TestNewTLSConfig(t *testing.T) {
	cfg := &tls.Config{NextProtos: []string{"foo", "h2", "bar"}, MinVersion: tls.VersionTLS10}
	c := NewTLS(cfg).(*tlsCreds)
	if !reflect.DeepEqual(c.config.NextProtos, []string{"h2", "foo", "bar"}) {
		t.Fatalf("NextProtos = %q", c.config.NextProtos)
	}
	if c.config.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion = %x", c.config.MinVersion)
	}
	if !reflect.DeepEqual(cfg.NextProtos, []string{"foo", "h2", "bar"}) || cfg.MinVersion != tls.VersionTLS10 {
		t.Fatal("NewTLS changed the caller's config")
	}
	if got := NewTLS(nil).(*tlsCreds).config.NextProtos; !reflect.DeepEqual(got, []string{"h2"}) {
		t.Fatalf("NextProtos = %q", got)
	}
	if got := NewTLS(&tls.Config{MinVersion: tls.VersionTLS13}).(*tlsCreds).config.MinVersion; got != tls.VersionTLS13 {
		t.Fatalf("MinVersion lowered to %x", got)
	}
	cl := c.Clone().(*tlsCreds)
	cl.config.NextProtos[0] = "changed"
	if c.config.NextProtos[0] != "h2" || c.Info().SecurityProtocol != "tls" || cl.Info().SecurityProtocol != "tls" {
		t.Fatal("Clone shares its config")
	}
}

func TestHostOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com:443", "example.com"},
		{"example.com", "example.com"},
		{"[::1]:50051", "::1"},
		{"[::1]", "::1"},
		{"127.0.0.1:1", "127.0.0.1"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := hostOf(tt.in); got != tt.want {
			t.Errorf("hostOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
