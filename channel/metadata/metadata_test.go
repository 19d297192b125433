package metadata

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestNewAndPairs(t *testing.T) {
	tests := []struct {
		name string
		got  MD
		want MD
	}{
		{"new", New(map[string]string{"Key": "v", "other": "w"}), MD{"key": {"v"}, "other": {"w"}}},
		{"new empty", New(nil), MD{}},
		{"pairs", Pairs("A", "1", "b", "2", "a", "3"), MD{"a": {"1", "3"}, "b": {"2"}}},
		{"pairs empty", Pairs(), MD{}},
		{"join", Join(Pairs("a", "1"), nil, Pairs("a", "2", "b", "3")), MD{"a": {"1", "2"}, "b": {"3"}}},
		{"join none", Join(), MD{}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestPairsOddPanics(t *testing.T) {
	for _, f := range []func(){
		//lint:ignore SA5012 the odd number of strings is what this test checks.
		func() { Pairs("a") },
		//lint:ignore SA5012 the odd number of strings is what this test checks.
		func() { AppendToOutgoingContext(context.Background(), "a", "b", "c") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic on an odd number of strings")
				}
			}()
			f()
		}()
	}
}

func TestMethods(t *testing.T) {
	md := Pairs("a", "1")
	md.Set("B", "2", "3")
	md.Set("c") // no values: no key
	md.Append("A", "4")
	md.Append("d")
	if !reflect.DeepEqual(md, MD{"a": {"1", "4"}, "b": {"2", "3"}}) {
		t.Fatalf("md = %v", md)
	}
	if md.Len() != 2 || !reflect.DeepEqual(md.Get("B"), []string{"2", "3"}) || md.Get("zz") != nil {
		t.Fatalf("Len/Get wrong: %v", md)
	}
	c := md.Copy()
	c["a"][0] = "changed"
	c.Delete("B")
	if md["a"][0] != "1" || md.Get("b") == nil {
		t.Fatal("Copy shares storage with the original")
	}
	md.Delete("A")
	if md.Len() != 1 {
		t.Fatalf("Delete: %v", md)
	}
}

func TestOutgoingContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := FromOutgoingContext(ctx); ok {
		t.Fatal("metadata in a bare context")
	}
	if _, _, ok := FromOutgoingContextRaw(ctx); ok {
		t.Fatal("raw metadata in a bare context")
	}
	// Appending without a base works.
	a := AppendToOutgoingContext(ctx, "K", "v")
	if md, _ := FromOutgoingContext(a); !reflect.DeepEqual(md, MD{"k": {"v"}}) {
		t.Fatalf("append without base: %v", md)
	}

	base := NewOutgoingContext(ctx, MD{"x": {"1"}, "Mixed": {"m"}})
	p := AppendToOutgoingContext(base, "x", "2")
	c1 := AppendToOutgoingContext(p, "y", "3")
	c2 := AppendToOutgoingContext(p, "y", "4", "z", "5")

	check := func(ctx context.Context, want MD) {
		t.Helper()
		md, ok := FromOutgoingContext(ctx)
		if !ok || !reflect.DeepEqual(md, want) {
			t.Fatalf("got %v, want %v", md, want)
		}
	}
	check(p, MD{"x": {"1", "2"}, "mixed": {"m"}})
	check(c1, MD{"x": {"1", "2"}, "y": {"3"}, "mixed": {"m"}})
	check(c2, MD{"x": {"1", "2"}, "y": {"4"}, "z": {"5"}, "mixed": {"m"}})

	// The merged copy is the caller's to change.
	md, _ := FromOutgoingContext(p)
	md["x"][0] = "changed"
	md.Set("new", "v")
	check(p, MD{"x": {"1", "2"}, "mixed": {"m"}})

	raw, added, ok := FromOutgoingContextRaw(c2)
	if !ok || raw["x"][0] != "1" || len(added) != 2 || !reflect.DeepEqual(added[1], []string{"y", "4", "z", "5"}) {
		t.Fatalf("raw = %v %v %v", raw, added, ok)
	}

	// A new outgoing context replaces what was appended before.
	check(NewOutgoingContext(c2, Pairs("only", "this")), MD{"only": {"this"}})
}

func TestIncomingContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := FromIncomingContext(ctx); ok || ValueFromIncomingContext(ctx, "a") != nil {
		t.Fatal("metadata in a bare context")
	}
	in := MD{"a": {"1", "2"}, "Upper": {"u"}}
	ctx = NewIncomingContext(ctx, in)
	md, ok := FromIncomingContext(ctx)
	if !ok || !reflect.DeepEqual(md, MD{"a": {"1", "2"}, "upper": {"u"}}) {
		t.Fatalf("got %v", md)
	}
	md["a"][0] = "changed"
	if in["a"][0] != "1" {
		t.Fatal("FromIncomingContext shares storage")
	}
	tests := []struct {
		key  string
		want []string
	}{
		{"a", []string{"1", "2"}},
		{"A", []string{"1", "2"}},
		{"upper", []string{"u"}},
		{"missing", nil},
	}
	for _, tt := range tests {
		got := ValueFromIncomingContext(ctx, tt.key)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ValueFromIncomingContext(%q) = %v, want %v", tt.key, got, tt.want)
		}
		if len(got) > 0 {
			got[0] = "changed"
		}
	}
	if in["a"][0] != "1" {
		t.Fatal("ValueFromIncomingContext shares storage")
	}
	// Incoming and outgoing do not see each other.
	if _, ok := FromOutgoingContext(ctx); ok {
		t.Fatal("incoming metadata seen as outgoing")
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		key              string
		binary, reserved bool
		valid            bool
	}{
		{"custom", false, false, true},
		{"trace-bin", true, false, true},
		{"bin", false, false, true},
		{"a_b.c-9", false, false, true},
		{"grpc-timeout", false, true, true},
		{"grpc-status-details-bin", true, true, true},
		{":path", false, true, false},
		{"content-type", false, true, true},
		{"te", false, true, true},
		{"user-agent", false, true, true},
		{"connection", false, true, true},
		{"host", false, true, true},
		{"transfer-encoding", false, true, true},
		{"upgrade", false, true, true},
		{"keep-alive", false, true, true},
		{"proxy-connection", false, true, true},
		{"content-types", false, false, true},
		{"", false, false, false},
		{"Upper", false, false, false},
		{"sp ace", false, false, false},
		{"ü", false, false, false},
	}
	for _, tt := range tests {
		if got := IsBinaryKey(tt.key); got != tt.binary {
			t.Errorf("IsBinaryKey(%q) = %v", tt.key, got)
		}
		if got := IsReservedKey(tt.key); got != tt.reserved {
			t.Errorf("IsReservedKey(%q) = %v", tt.key, got)
		}
		if err := ValidateKey(tt.key); (err == nil) != tt.valid {
			t.Errorf("ValidateKey(%q) = %v", tt.key, err)
		}
	}
}

func TestValidateValue(t *testing.T) {
	tests := []struct {
		key, value string
		valid      bool
	}{
		{"k", "", true},
		{"k", " printable ~ ASCII!", true},
		{"k", "tab\there", false},
		{"k", "del\x7f", false},
		{"k", "ü", false},
		{"k-bin", "\x00\xff anything", true},
	}
	for _, tt := range tests {
		if err := ValidateValue(tt.key, tt.value); (err == nil) != tt.valid {
			t.Errorf("ValidateValue(%q, %q) = %v", tt.key, tt.value, err)
		}
	}
}

func TestBinary(t *testing.T) {
	tests := []struct {
		raw  []byte
		enc  string
		more []string // other accepted encodings
	}{
		{nil, "", nil},
		{[]byte{0}, "AA", []string{"AA=="}},
		{[]byte{0xfb, 0xff}, "+/8", []string{"+/8="}},
		{[]byte("abc"), "YWJj", nil},
		{[]byte("abcd"), "YWJjZA", []string{"YWJjZA=="}},
	}
	for _, tt := range tests {
		if got := EncodeBinary(tt.raw); got != tt.enc {
			t.Errorf("EncodeBinary(%x) = %q, want %q", tt.raw, got, tt.enc)
		}
		for _, s := range append([]string{tt.enc}, tt.more...) {
			got, err := DecodeBinary(s)
			if err != nil || !bytes.Equal(got, tt.raw) {
				t.Errorf("DecodeBinary(%q) = %x, %v, want %x", s, got, err, tt.raw)
			}
		}
	}
	for _, bad := range []string{"A", "AA=", "A===", "!!!!", "YW Jj", "-_8"} {
		if _, err := DecodeBinary(bad); err == nil {
			t.Errorf("DecodeBinary(%q) succeeded", bad)
		}
	}
}

func FuzzDecodeBinary(f *testing.F) {
	for _, s := range []string{"", "AA", "AA==", "YWJjZA", "+/8=", "A", "!!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeBinary(s)
		if err != nil {
			return
		}
		enc := EncodeBinary(b)
		if strings.Contains(enc, "=") {
			t.Fatalf("EncodeBinary padded: %q", enc)
		}
		again, err := DecodeBinary(enc)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip of %q: %x, %v; want %x", s, again, err, b)
		}
	})
}
