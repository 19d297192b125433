package dns

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/channel/resolver"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct{ in, host, port string }{
		{"name.test", "name.test", "443"},
		{"name.test:50051", "name.test", "50051"},
		{"name.test.:1", "name.test.", "1"},
		{"NAME_x.test:080", "NAME_x.test", "80"},
		{":50051", "localhost", "50051"},
		{"10.0.0.1", "10.0.0.1", "443"},
		{"10.0.0.1:8", "10.0.0.1", "8"},
		{"::1", "::1", "443"},
		{"[::1]", "::1", "443"},
		{"[::1]:8", "::1", "8"},
		{"fe80::1%eth0", "fe80::1%eth0", "443"},
		{"[fe80::1%eth0]:8", "fe80::1%eth0", "8"},
		{"[name.test]:8", "name.test", "8"},
		{"x:65535", "x", "65535"},
	} {
		host, port, err := parseTarget(tc.in, "443")
		if err != nil || host != tc.host || port != tc.port {
			t.Errorf("parseTarget(%q) = %q, %q, %v; want %q, %q", tc.in, host, port, err, tc.host, tc.port)
		}
	}
	for _, in := range []string{
		"", ":", "name.test:", "[::1]:", "name.test:x", "name.test:0", "name.test:65536",
		"name.test:99999999999999999999", "name.test:+1", "a:b:c", "[::1", "::1]:8", "[a]b:1",
		"a..b", ".a", "-a.test", "a-.test", "a b", "a/b", "a\x00b", "[]:1", "1.2.3.4.5:1:2",
		string(make([]byte, 254)), "a." + strings.Repeat("c", 64),
	} {
		if host, port, err := parseTarget(in, "443"); err == nil {
			t.Errorf("parseTarget(%q) = %q, %q, want an error", in, host, port)
		}
	}
	// 253 bytes: three labels of 63 and one of 61.
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("b", 61)
	if _, _, err := parseTarget(long, "443"); err != nil {
		t.Errorf("a 253-byte name: %v", err)
	}
	if _, _, err := parseTarget(long+"x", "443"); err == nil {
		t.Errorf("a 254-byte name was accepted")
	}
}

// FuzzParseTarget: parseTarget never panics, and what it accepts is a
// host and a port that it parses back to themselves once joined.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"name.test", "name.test:50051", ":1", "[::1]:8", "::1", "10.0.0.1", "fe80::1%eth0", "[a]:1", "a:b:c", "a..b", "x:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, port, err := parseTarget(s, "443")
		if err != nil {
			if host != "" || port != "" {
				t.Fatalf("parseTarget(%q) failed (%v) but returned %q, %q", s, err, host, port)
			}
			return
		}
		n, perr := strconv.Atoi(port)
		if host == "" || perr != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			t.Fatalf("parseTarget(%q) = %q, %q", s, host, port)
		}
		joined := net.JoinHostPort(host, port)
		h2, p2, err := parseTarget(joined, "1")
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("parseTarget(%q) = %q, %q, but %q parses to %q, %q, %v", s, host, port, joined, h2, p2, err)
		}
	})
}

// FuzzTarget: whatever a dns: URI holds, parse returns an error or a
// target it would resolve: the endpoint's host and port, and a DNS server
// as host:port.
func FuzzTarget(f *testing.F) {
	for _, s := range []string{"dns:///name.test:1", "dns://127.0.0.1:53/name.test", "dns://[::1]/[::1]:8", "dns:name.test", "dns://u@h/x", "dns://h:0/x", "dns:///"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		target := resolver.Target{URL: *u}
		host, port, server, err := parse(target)
		if err != nil {
			return
		}
		if h, p, err := parseTarget(target.Endpoint(), defaultPort); err != nil || h != host || p != port {
			t.Fatalf("parse(%q) = %q, %q; its endpoint is %q, %q, %v", s, host, port, h, p, err)
		}
		if server == "" {
			if u.Host != "" {
				t.Fatalf("parse(%q) ignored the DNS server %q", s, u.Host)
			}
			return
		}
		if _, _, err := parseTarget(server, "1"); err != nil {
			t.Fatalf("parse(%q): DNS server %q: %v", s, server, err)
		}
	})
}
