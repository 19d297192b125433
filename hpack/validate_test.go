package hpack

import (
	"errors"
	"slices"
	"testing"
)

// with returns grpcRequest with fields replaced (same name) or added.
func with(base []HeaderField, extra ...HeaderField) []HeaderField {
	out := slices.Clone(base)
	for _, f := range extra {
		if i := slices.IndexFunc(out, func(g HeaderField) bool { return g.Name == f.Name }); i >= 0 {
			out[i] = f
		} else {
			out = append(out, f)
		}
	}
	return out
}

// without returns base without the fields of the given names.
func without(base []HeaderField, names ...string) []HeaderField {
	return slices.DeleteFunc(slices.Clone(base), func(f HeaderField) bool { return slices.Contains(names, f.Name) })
}

func wantMalformed(t *testing.T, err error) {
	t.Helper()
	var m *MalformedError
	if !errors.Is(err, ErrMalformed) || !errors.As(err, &m) || m.Reason == "" {
		t.Fatalf("got %v, want a *MalformedError", err)
	}
}

func TestParseRequestGRPC(t *testing.T) {
	h, err := ParseRequest(grpcRequest)
	if err != nil {
		t.Fatal(err)
	}
	want := RequestHead{Method: "POST", Scheme: "http", Authority: "localhost:50051", Path: "/grpc.testing.TestService/UnaryCall", ContentLength: -1}
	if h != want {
		t.Fatalf("got %+v, want %+v", h, want)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = ParseRequest(grpcRequest) }); n != 0 {
		t.Fatalf("ParseRequest allocates %v times", n)
	}
}

func TestParseResponseGRPC(t *testing.T) {
	h, err := ParseResponse(grpcResponse)
	if err != nil || h != (ResponseHead{Status: 200, ContentLength: -1}) {
		t.Fatalf("got %+v, %v", h, err)
	}
	if err := CheckTrailers(grpcTrailers); err != nil {
		t.Fatal(err)
	}
	// Trailers-Only: one HEADERS frame with :status, content-type and grpc-status.
	if _, err := ParseResponse(append(slices.Clone(grpcResponse[:2]), grpcTrailers...)); err != nil {
		t.Fatal(err)
	}
}

func TestRFC9113_8_2_1_UppercaseName(t *testing.T) {
	_, err := ParseRequest(with(grpcRequest, hf("Content-Type", "application/grpc")))
	wantMalformed(t, err)
	wantMalformed(t, CheckTrailers([]HeaderField{hf("Grpc-Status", "0")}))
	_, err = ParseResponse([]HeaderField{hf(":status", "200"), hf("X-Foo", "1")})
	wantMalformed(t, err)
}

func TestRFC9113_8_2_1_InvalidNameCharacters(t *testing.T) {
	for _, name := range []string{"", "a b", "a:b", "a\x00", "a\x7f", "é", "a(b", "a\"b", "a/b"} {
		_, err := ParseRequest(with(grpcRequest, hf(name, "v")))
		wantMalformed(t, err)
	}
	for _, name := range []string{"x-!#$%&'*+-.^_`|~09az", "grpc-status-details-bin"} {
		if _, err := ParseRequest(with(grpcRequest, hf(name, "v"))); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
	}
}

func TestRFC9113_8_2_1_InvalidValueCharacters(t *testing.T) {
	for _, v := range []string{"a\x00b", "a\rb", "a\nb", " a", "a ", "\ta", "a\t", " "} {
		_, err := ParseRequest(with(grpcRequest, hf("x-v", v)))
		wantMalformed(t, err)
		_, err = ParseRequest(with(grpcRequest, hf(":authority", v)))
		wantMalformed(t, err)
	}
	for _, v := range []string{"", "a b", "a\tb", "\x80\xff", "%E2%9C%93"} {
		if _, err := ParseRequest(with(grpcRequest, hf("x-v", v))); err != nil {
			t.Fatalf("%q: %v", v, err)
		}
	}
}

func TestRFC9113_8_2_2_ConnectionSpecific(t *testing.T) {
	for _, name := range []string{"connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade"} {
		_, err := ParseRequest(with(grpcRequest, hf(name, "x")))
		wantMalformed(t, err)
		_, err = ParseResponse(with(grpcResponse, hf(name, "x")))
		wantMalformed(t, err)
		wantMalformed(t, CheckTrailers(with(grpcTrailers, hf(name, "x"))))
	}
}

func TestRFC9113_8_2_2_TE(t *testing.T) {
	for _, v := range []string{"trailers, deflate", "gzip", ""} {
		_, err := ParseRequest(with(grpcRequest, hf("te", v)))
		wantMalformed(t, err)
	}
	if _, err := ParseRequest(with(grpcRequest, hf("te", "Trailers"))); err != nil {
		t.Fatal(err)
	}
}

func TestRFC9113_8_3_PseudoHeaderOrder(t *testing.T) {
	late := append(without(grpcRequest, ":authority"), hf(":authority", "localhost:50051"))
	_, err := ParseRequest(late)
	wantMalformed(t, err)
	_, err = ParseResponse([]HeaderField{hf("content-type", "application/grpc"), hf(":status", "200")})
	wantMalformed(t, err)
}

func TestRFC9113_8_3_1_RequestPseudoHeaders(t *testing.T) {
	bad := map[string][]HeaderField{
		"missing :method":     without(grpcRequest, ":method"),
		"missing :scheme":     without(grpcRequest, ":scheme"),
		"missing :path":       without(grpcRequest, ":path"),
		"empty :scheme":       with(grpcRequest, hf(":scheme", "")),
		"bad :scheme":         with(grpcRequest, hf(":scheme", "1http")),
		"empty :path":         with(grpcRequest, hf(":path", "")),
		"relative :path":      with(grpcRequest, hf(":path", "grpc.testing.TestService/UnaryCall")),
		"* :path with POST":   with(grpcRequest, hf(":path", "*")),
		"duplicate :method":   append([]HeaderField{hf(":method", "POST")}, grpcRequest...),
		"duplicate :path":     append([]HeaderField{hf(":path", "/a")}, grpcRequest...),
		":status in request":  append([]HeaderField{hf(":status", "200")}, grpcRequest...),
		"unknown pseudo":      append([]HeaderField{hf(":foo", "x")}, grpcRequest...),
		":protocol with POST": append([]HeaderField{hf(":protocol", "websocket")}, grpcRequest...),
		"method not a token":  with(grpcRequest, hf(":method", "PO ST")),
		"userinfo":            with(grpcRequest, hf(":authority", "user@localhost")),
		"host differs":        with(grpcRequest, hf("host", "example.com")),
		"missing authority":   without(grpcRequest, ":authority"),
	}
	for name, fields := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := ParseRequest(fields)
			wantMalformed(t, err)
		})
	}
	// OPTIONS * and a host field in place of :authority are fine.
	h, err := ParseRequest([]HeaderField{hf(":method", "OPTIONS"), hf(":scheme", "https"), hf(":path", "*"), hf("host", "a.example")})
	if err != nil || h.Authority != "a.example" {
		t.Fatalf("got %+v, %v", h, err)
	}
}

func TestRFC9113_8_5_Connect(t *testing.T) {
	ok := []HeaderField{hf(":method", "CONNECT"), hf(":authority", "example.com:443")}
	if h, err := ParseRequest(ok); err != nil || h.Method != "CONNECT" {
		t.Fatalf("got %+v, %v", h, err)
	}
	for name, fields := range map[string][]HeaderField{
		"no authority": {hf(":method", "CONNECT")},
		"with scheme":  append(slices.Clone(ok), hf(":scheme", "https")),
		"with path":    append(slices.Clone(ok), hf(":path", "/")),
	} {
		_, err := ParseRequest(fields)
		wantMalformed(t, err)
		_ = name
	}
	// RFC 8441 §4: extended CONNECT carries :protocol, :scheme and :path.
	ext := []HeaderField{hf(":method", "CONNECT"), hf(":protocol", "websocket"), hf(":scheme", "https"), hf(":path", "/chat"), hf(":authority", "example.com")}
	if h, err := ParseRequest(ext); err != nil || h.Protocol != "websocket" {
		t.Fatalf("got %+v, %v", h, err)
	}
	_, err := ParseRequest(without(ext, ":path"))
	wantMalformed(t, err)
}

func TestRFC9113_8_3_2_ResponseStatus(t *testing.T) {
	for _, v := range []string{"", "20", "2000", "abc", "099", "000", "20a", " 200", "-20"} {
		_, err := ParseResponse([]HeaderField{hf(":status", v)})
		wantMalformed(t, err)
	}
	for name, fields := range map[string][]HeaderField{
		"missing":    {hf("content-type", "application/grpc")},
		"twice":      {hf(":status", "200"), hf(":status", "200")},
		":method":    {hf(":status", "200"), hf(":method", "GET")},
		"in regular": {hf(":status", "200"), hf("x", "y"), hf(":path", "/")},
	} {
		_, err := ParseResponse(fields)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		wantMalformed(t, err)
	}
	for _, tt := range []struct {
		v    string
		want int
	}{{"100", 100}, {"103", 103}, {"200", 200}, {"431", 431}, {"599", 599}, {"600", 600}, {"800", 800}, {"999", 999}} {
		h, err := ParseResponse([]HeaderField{hf(":status", tt.v)})
		if err != nil || h.Status != tt.want {
			t.Errorf("%s: got %+v, %v", tt.v, h, err)
		}
	}
}

func TestRFC9113_8_1_PseudoHeaderInTrailers(t *testing.T) {
	wantMalformed(t, CheckTrailers(append(slices.Clone(grpcTrailers), hf(":status", "200"))))
	wantMalformed(t, CheckTrailers([]HeaderField{hf(":path", "/")}))
}

func TestRFC9110_8_6_ContentLength(t *testing.T) {
	h, err := ParseRequest(with(grpcRequest, hf("content-length", "42"), hf("x", "y")))
	if err != nil || h.ContentLength != 42 {
		t.Fatalf("got %+v, %v", h, err)
	}
	two := append(with(grpcRequest, hf("content-length", "42")), hf("content-length", "42"))
	if h, err := ParseRequest(two); err != nil || h.ContentLength != 42 {
		t.Fatalf("equal values: got %+v, %v", h, err)
	}
	for _, v := range []string{"", "-1", "1a", "4 2", "0x10", "1234567890123456789"} {
		_, err := ParseRequest(with(grpcRequest, hf("content-length", v)))
		wantMalformed(t, err)
	}
	_, err = ParseRequest(append(with(grpcRequest, hf("content-length", "42")), hf("content-length", "43")))
	wantMalformed(t, err)
	r, err := ParseResponse(with(grpcResponse, hf("content-length", "0")))
	if err != nil || r.ContentLength != 0 {
		t.Fatalf("got %+v, %v", r, err)
	}
}

func TestHeaderListSize(t *testing.T) {
	// RFC 7541 C.3.1's list: 7+3 + 7+4 + 5+1 + 10+15 + 4*32.
	if got := HeaderListSize(rfcRequests[0]); got != 180 {
		t.Fatalf("got %d, want 180", got)
	}
	if got := HeaderListSize(nil); got != 0 {
		t.Fatalf("got %d, want 0", got)
	}
}
