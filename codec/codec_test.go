package codec

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/apipb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestRegistry(t *testing.T) {
	tests := []struct {
		subtype string
		want    Codec
	}{
		{"proto", Proto},
		{"PROTO", Proto},
		{"json", JSON},
		{"Json", JSON},
		{"raw", Raw},
		{"", nil},
		{"xml", nil},
	}
	for _, tt := range tests {
		if got := GetCodec(tt.subtype); got != tt.want {
			t.Errorf("GetCodec(%q) = %v, want %v", tt.subtype, got, tt.want)
		}
	}
	for _, c := range []Codec{Proto, JSON, Raw} {
		if GetCodec(c.Name()) != c || strings.ToLower(c.Name()) != c.Name() {
			t.Errorf("codec %q not registered under its name", c.Name())
		}
	}
	mustPanic(t, "RegisterCodec(nil)", func() { RegisterCodec(nil) })
	mustPanic(t, "RegisterCodec without a name", func() { RegisterCodec(namedCodec("")) })
	RegisterCodec(namedCodec("Custom"))
	if GetCodec("custom") != namedCodec("Custom") {
		t.Fatal("custom codec not found under its lowercased name")
	}
}

type namedCodec string

func (n namedCodec) Name() string                     { return string(n) }
func (namedCodec) Marshal(any) ([]byte, error)        { return nil, nil }
func (namedCodec) Unmarshal(data []byte, v any) error { return nil }

func testMessage() *apipb.Method {
	return &apipb.Method{
		Name:            "SayHello",
		RequestTypeUrl:  "type.googleapis.com/helloworld.HelloRequest",
		ResponseTypeUrl: "type.googleapis.com/helloworld.HelloReply",
	}
}

func TestProtoAndJSON(t *testing.T) {
	for _, c := range []AppendCodec{Proto, JSON} {
		t.Run(c.Name(), func(t *testing.T) {
			m := testMessage()
			b, err := c.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			appended, err := c.MarshalAppend([]byte{0, 0, 0, 0, 0}, m)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(appended[5:], b) || !bytes.Equal(appended[:5], make([]byte, 5)) {
				t.Fatalf("MarshalAppend %q, Marshal %q", appended, b)
			}
			got := &apipb.Method{RequestStreaming: true} // Unmarshal replaces, not merges.
			if err := c.Unmarshal(b, got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, m) {
				t.Fatalf("round trip: %v, want %v", got, m)
			}
			for _, bad := range []any{nil, "string", []byte{1}, struct{}{}} {
				if _, err := c.Marshal(bad); err == nil {
					t.Errorf("Marshal(%T) succeeded", bad)
				}
				if dst, err := c.MarshalAppend([]byte("keep"), bad); err == nil || string(dst) != "keep" {
					t.Errorf("MarshalAppend(%T) = %q, %v", bad, dst, err)
				}
				if err := c.Unmarshal(b, bad); err == nil {
					t.Errorf("Unmarshal into %T succeeded", bad)
				}
			}
			if err := c.Unmarshal([]byte{0xff, 0xff}, &apipb.Method{}); err == nil {
				t.Error("Unmarshal of garbage succeeded")
			}
		})
	}
}

func TestRaw(t *testing.T) {
	data := []byte("raw bytes")
	for _, v := range []any{data, &data} {
		b, err := Raw.Marshal(v)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("Marshal(%T) = %q, %v", v, b, err)
		}
		b, err = Raw.MarshalAppend([]byte("pre:"), v)
		if err != nil || string(b) != "pre:raw bytes" {
			t.Fatalf("MarshalAppend(%T) = %q, %v", v, b, err)
		}
	}
	if b, err := Raw.Marshal((*[]byte)(nil)); err != nil || b != nil {
		t.Fatalf("Marshal(nil *[]byte) = %q, %v", b, err)
	}
	if _, err := Raw.Marshal("string"); err == nil {
		t.Fatal("Marshal(string) succeeded")
	}
	var out []byte
	if err := Raw.Unmarshal(data, &out); err != nil || !bytes.Equal(out, data) {
		t.Fatalf("Unmarshal = %q, %v", out, err)
	}
	data[0] = 'X'
	if out[0] != 'r' {
		t.Fatal("Unmarshal kept a reference to its input")
	}
	for _, bad := range []any{out, (*[]byte)(nil), new(string)} {
		if err := Raw.Unmarshal(data, bad); err == nil {
			t.Errorf("Unmarshal into %T succeeded", bad)
		}
	}
}

func TestMarshalAppendNoAlloc(t *testing.T) {
	m := &wrapperspb.StringValue{Value: "hello world"}
	buf := make([]byte, 0, 256)
	n := testing.AllocsPerRun(100, func() {
		var err error
		buf, err = Proto.MarshalAppend(buf[:5], m)
		if err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("MarshalAppend allocated %v times per call", n)
	}
	if !reflect.DeepEqual(buf[5:], mustMarshal(t, m)) {
		t.Fatal("MarshalAppend into a reused buffer gave different bytes")
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func BenchmarkProtoMarshalAppend(b *testing.B) {
	m := testMessage()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = Proto.MarshalAppend(buf[:5], m)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// mustPanic fails the test if f returns without panicking.
func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}
