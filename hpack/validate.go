package hpack

import "strings"

// RequestHead is what the stream layer needs from a request header list.
type RequestHead struct {
	Method, Scheme, Authority, Path, Protocol string
	// ContentLength is the value of content-length, or -1 when absent.
	ContentLength int64
}

// ResponseHead is what the stream layer needs from a response header list.
type ResponseHead struct {
	// Status is the value of :status: three digits, 100 to 999. Codes
	// above 599 are well-formed and left to the caller to interpret.
	Status int
	// ContentLength is the value of content-length, or -1 when absent.
	ContentLength int64
}

// HeaderListSize returns the size of fields as RFC 9113 §6.5.2 counts it:
// the sum of len(name)+len(value)+32, saturated at the largest uint32.
func HeaderListSize(fields []HeaderField) uint32 {
	var n uint64
	for i := range fields {
		n += uint64(len(fields[i].Name)) + uint64(len(fields[i].Value)) + 32
	}
	return uint32(min(n, 1<<32-1))
}

// ParseRequest checks a request header list against RFC 9113 §8.1–8.3 and
// returns its pseudo-headers and content length. Errors are *MalformedError.
func ParseRequest(fields []HeaderField) (RequestHead, error) {
	h := RequestHead{ContentLength: -1}
	var seen pseudoSet
	host := ""
	i := 0
	for ; i < len(fields) && isPseudo(fields[i].Name); i++ {
		f := &fields[i]
		var dst *string
		var bit pseudoSet
		switch f.Name {
		case ":method":
			dst, bit = &h.Method, seenMethod
		case ":scheme":
			dst, bit = &h.Scheme, seenScheme
		case ":authority":
			dst, bit = &h.Authority, seenAuthority
		case ":path":
			dst, bit = &h.Path, seenPath
		case ":protocol":
			dst, bit = &h.Protocol, seenProtocol
		default:
			return h, malformed("pseudo-header %q is not defined for requests (RFC 9113 §8.3)", f.Name)
		}
		if seen&bit != 0 {
			return h, malformed("pseudo-header %q appears twice (RFC 9113 §8.3)", f.Name)
		}
		if err := checkValue(f); err != nil {
			return h, err
		}
		seen |= bit
		*dst = f.Value
	}
	for ; i < len(fields); i++ {
		f := &fields[i]
		if err := checkRegular(f, &h.ContentLength); err != nil {
			return h, err
		}
		if f.Name == "host" {
			if host != "" && host != f.Value {
				return h, malformed("host fields disagree (RFC 9113 §8.3.1)")
			}
			host = f.Value
		}
	}
	return h, h.check(seen, host)
}

// check applies the rules on the set of request pseudo-headers (RFC 9113
// §8.3.1, §8.5; RFC 8441 §4 for :protocol).
func (h *RequestHead) check(seen pseudoSet, host string) error {
	if seen&seenMethod == 0 {
		return malformed("missing :method (RFC 9113 §8.3.1)")
	}
	if !isToken(h.Method) {
		return malformed(":method %q is not a token (RFC 9113 §8.3.1)", h.Method)
	}
	connect := h.Method == "CONNECT"
	if seen&seenProtocol != 0 && !connect {
		return malformed(":protocol is allowed only with CONNECT (RFC 8441 §4)")
	}
	if connect && seen&seenProtocol == 0 {
		if seen&seenAuthority == 0 || h.Authority == "" {
			return malformed("CONNECT without :authority (RFC 9113 §8.5)")
		}
		if seen&(seenScheme|seenPath) != 0 {
			return malformed("CONNECT with :scheme or :path (RFC 9113 §8.5)")
		}
		return nil
	}
	if seen&seenScheme == 0 {
		return malformed("missing :scheme (RFC 9113 §8.3.1)")
	}
	if !isScheme(h.Scheme) {
		return malformed(":scheme %q is not a URI scheme (RFC 3986 §3.1)", h.Scheme)
	}
	if seen&seenPath == 0 {
		return malformed("missing :path (RFC 9113 §8.3.1)")
	}
	if h.Path == "" {
		return malformed("empty :path (RFC 9113 §8.3.1)")
	}
	if host != "" {
		if seen&seenAuthority == 0 {
			h.Authority = host
		} else if host != h.Authority {
			return malformed("host %q differs from :authority %q (RFC 9113 §8.3.1)", host, h.Authority)
		}
	}
	if h.Scheme == "http" || h.Scheme == "https" {
		if h.Authority == "" {
			return malformed("%s request without :authority or host (RFC 9113 §8.3.1)", h.Scheme)
		}
		if h.Path[0] != '/' && (h.Path != "*" || h.Method != "OPTIONS") {
			return malformed(":path %q does not start with / (RFC 9113 §8.3.1)", h.Path)
		}
		if strings.IndexByte(h.Authority, '@') >= 0 {
			return malformed(":authority includes userinfo (RFC 9113 §8.3.1)")
		}
	}
	return nil
}

// ParseResponse checks a response header list against RFC 9113 §8.1–8.3:
// :status only, three digits (1xx informational responses included). A
// code outside 100–599 that is still three digits, such as 800, is not a
// malformed message (RFC 9110 §15 leaves its meaning to the recipient).
// Errors are *MalformedError.
func ParseResponse(fields []HeaderField) (ResponseHead, error) {
	h := ResponseHead{ContentLength: -1}
	i := 0
	for ; i < len(fields) && isPseudo(fields[i].Name); i++ {
		f := &fields[i]
		if f.Name != ":status" {
			return h, malformed("pseudo-header %q is not defined for responses (RFC 9113 §8.3.2)", f.Name)
		}
		if h.Status != 0 {
			return h, malformed(":status appears twice (RFC 9113 §8.3.2)")
		}
		v := f.Value
		if len(v) != 3 || v[0] < '1' || v[0] > '9' || !isDigit(v[1]) || !isDigit(v[2]) {
			return h, malformed(":status %q is not a three-digit code from 100 to 999 (RFC 9113 §8.3.2)", v)
		}
		h.Status = int(v[0]-'0')*100 + int(v[1]-'0')*10 + int(v[2]-'0')
	}
	if h.Status == 0 {
		return h, malformed("missing :status (RFC 9113 §8.3.2)")
	}
	for ; i < len(fields); i++ {
		if err := checkRegular(&fields[i], &h.ContentLength); err != nil {
			return h, err
		}
	}
	return h, nil
}

// CheckTrailers checks a trailer list: no pseudo-headers (RFC 9113 §8.1),
// plus the rules on every regular field. Errors are *MalformedError.
func CheckTrailers(fields []HeaderField) error {
	contentLength := int64(-1)
	for i := range fields {
		f := &fields[i]
		if isPseudo(f.Name) {
			return malformed("pseudo-header %q in trailers (RFC 9113 §8.1)", f.Name)
		}
		if err := checkRegular(f, &contentLength); err != nil {
			return err
		}
	}
	return nil
}

type pseudoSet uint8

const (
	seenMethod pseudoSet = 1 << iota
	seenScheme
	seenAuthority
	seenPath
	seenProtocol
)

func isPseudo(name string) bool { return len(name) > 0 && name[0] == ':' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// checkRegular applies the rules for a field that is not a pseudo-header
// (RFC 9113 §8.2), and parses content-length into *contentLength (-1 until seen).
func checkRegular(f *HeaderField, contentLength *int64) error {
	name := f.Name
	if isPseudo(name) {
		return malformed("pseudo-header %q after a regular field (RFC 9113 §8.3)", name)
	}
	if name == "" {
		return malformed("empty field name (RFC 9113 §8.2.1)")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			return malformed("uppercase letter in field name %q (RFC 9113 §8.2.1)", name)
		}
		if !tokenChar[c] {
			return malformed("invalid character %q in field name %q (RFC 9113 §8.2.1)", c, name)
		}
	}
	if err := checkValue(f); err != nil {
		return err
	}
	switch name {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
		return malformed("connection-specific field %q (RFC 9113 §8.2.2)", name)
	case "te":
		if !strings.EqualFold(f.Value, "trailers") {
			return malformed("te with a value other than trailers (RFC 9113 §8.2.2)")
		}
	case "content-length":
		n, ok := parseContentLength(f.Value)
		if !ok {
			return malformed("content-length %q is not a decimal number (RFC 9110 §8.6)", f.Value)
		}
		if *contentLength >= 0 && *contentLength != n {
			return malformed("content-length fields disagree (RFC 9110 §8.6)")
		}
		*contentLength = n
	}
	return nil
}

// checkValue refuses NUL, CR and LF anywhere and SP or HTAB at either end
// of a field value (RFC 9113 §8.2.1).
func checkValue(f *HeaderField) error {
	v := f.Value
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\r' || c == '\n' {
			return malformed("NUL, CR or LF in the value of %q (RFC 9113 §8.2.1)", f.Name)
		}
	}
	if len(v) > 0 && (isSpace(v[0]) || isSpace(v[len(v)-1])) {
		return malformed("leading or trailing whitespace in the value of %q (RFC 9113 §8.2.1)", f.Name)
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// parseContentLength parses 1 to 18 decimal digits (enough for any real
// length, and no overflow of int64).
func parseContentLength(v string) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if !isDigit(v[i]) {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

// isScheme reports whether s is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lowercase letters; other characters stay out of a-z
		switch {
		case 'a' <= c && c <= 'z':
		case i > 0 && (isDigit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'):
		default:
			return false
		}
	}
	return true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar[s[i]] && !('A' <= s[i] && s[i] <= 'Z') {
			return false
		}
	}
	return true
}

// tokenChar marks the lowercase token characters of RFC 9110 §5.6.2; the
// uppercase letters are left out because HTTP/2 field names must not
// contain them.
var tokenChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
