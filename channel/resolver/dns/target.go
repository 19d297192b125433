package dns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// The ports used when a target or a server names none.
const (
	defaultPort       = "443"
	defaultServerPort = "53"
)

var errMissingHost = errors.New("no host to resolve")

// parseTarget splits s, "host", "host:port", "[ipv6]:port" or a bare IPv6
// address, into a host and a port, defaultPort when s has none. An empty
// host, as in ":50051", is localhost, as it is to net.Dial. The host is an
// IP address or a DNS name (letters, digits, '-' and '_' in dot-separated
// labels); the port is a number from 1 to 65535, returned without leading
// zeros.
func parseTarget(s, defaultPort string) (host, port string, err error) {
	if s == "" {
		return "", "", errMissingHost
	}
	if isIP(s) {
		return s, defaultPort, nil
	}
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		// No port, or not host:port at all.
		var err2 error
		if host, port, err2 = net.SplitHostPort(s + ":" + defaultPort); err2 != nil {
			return "", "", fmt.Errorf("%q is not host[:port]: %v", s, err)
		}
	} else if port == "" {
		return "", "", fmt.Errorf("%q ends with a colon but names no port", s)
	}
	if port, err = checkPort(port); err != nil {
		return "", "", fmt.Errorf("%q: %v", s, err)
	}
	if host == "" {
		if s[0] != ':' {
			return "", "", fmt.Errorf("%q names no host", s)
		}
		return "localhost", port, nil
	}
	if isIP(host) {
		return host, port, nil
	}
	if err := checkName(host); err != nil {
		return "", "", fmt.Errorf("%q: %v", s, err)
	}
	return host, port, nil
}

// isIP reports whether s is an IP address whose zone, if it has one,
// is an interface name: letters, digits, '.', '-' and '_'. netip accepts
// any bytes in a zone, but one holding ']' or ':' would not survive being
// put in brackets with a port.
func isIP(s string) bool {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	for _, c := range []byte(ip.Zone()) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// checkPort returns p as a number from 1 to 65535 without leading zeros.
func checkPort(p string) (string, error) {
	n := 0
	for _, c := range []byte(p) {
		if c < '0' || c > '9' {
			return "", fmt.Errorf("port %q is not a number", p)
		}
		if n = 10*n + int(c-'0'); n > 65535 {
			return "", fmt.Errorf("port %q is above 65535", p)
		}
	}
	if n == 0 {
		return "", fmt.Errorf("port %q is not one a server listens on", p)
	}
	return strconv.Itoa(n), nil
}

// checkName reports why name is not a DNS host name: at most 253 bytes
// (and a final dot), of labels of 1 to 63 letters, digits, '-' and '_',
// none starting or ending with '-'.
func checkName(name string) error {
	n := strings.TrimSuffix(name, ".")
	if n == "" || len(n) > 253 {
		return fmt.Errorf("host name %q is empty or longer than 253 bytes", name)
	}
	for label := range strings.SplitSeq(n, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host name %q has an empty label or one longer than 63 bytes", name)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host name %q has a label that starts or ends with '-'", name)
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("host name %q holds %q, which no host name may", name, c)
			}
		}
	}
	return nil
}
