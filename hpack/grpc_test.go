package hpack

import (
	"slices"
	"testing"
)

var grpcLists = []struct {
	name   string
	fields []HeaderField
}{
	{"Request", grpcRequest},
	{"Response", grpcResponse},
	{"Trailers", grpcTrailers},
}

// TestEncodeZeroAllocs: once the fields are in the dynamic table, encoding a
// gRPC request, response or trailers into a buffer with room allocates
// nothing.
func TestEncodeZeroAllocs(t *testing.T) {
	for _, l := range grpcLists {
		t.Run(l.name, func(t *testing.T) {
			e := NewEncoder()
			buf := e.AppendBlock(make([]byte, 0, 512), l.fields) // warm-up
			if n := testing.AllocsPerRun(1000, func() { buf = e.AppendBlock(buf[:0], l.fields) }); n != 0 {
				t.Fatalf("AppendBlock allocates %v times", n)
			}
			if n := testing.AllocsPerRun(1000, func() {
				buf = buf[:0]
				for _, f := range l.fields {
					buf = e.AppendField(buf, f.Name, f.Value, false)
				}
			}); n != 0 {
				t.Fatalf("AppendField allocates %v times", n)
			}
		})
	}
}

// TestDecodeSteadyStateZeroAllocs: a block of indexed fields decodes into a
// reused slice without allocating.
func TestDecodeSteadyStateZeroAllocs(t *testing.T) {
	e := NewEncoder()
	d := NewDecoder(4096, 16<<10)
	dst := make([]HeaderField, 0, 16)
	mustDecode(t, d, e.AppendBlock(nil, grpcRequest), grpcRequest)
	block := e.AppendBlock(nil, grpcRequest)
	n := testing.AllocsPerRun(1000, func() {
		got, err := decodeInto(d, dst, block)
		if err != nil || len(got) != len(grpcRequest) {
			t.Fatal(got, err)
		}
	})
	if n != 0 {
		t.Fatalf("decode allocates %v times", n)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	e := NewEncoder()
	d := NewDecoder(4096, 0)
	for range 3 {
		for _, l := range grpcLists {
			mustDecode(t, d, e.AppendBlock(nil, l.fields), l.fields)
		}
	}
	sensitive := HeaderField{Name: "authorization", Value: "Bearer x", Sensitive: true}
	block := e.AppendField(nil, sensitive.Name, sensitive.Value, true)
	mustDecode(t, d, block, []HeaderField{sensitive})
	if again := e.AppendField(nil, sensitive.Name, sensitive.Value, true); len(again) == 1 {
		t.Fatal("sensitive field was indexed")
	}
}

func benchmarkEncode(b *testing.B, fields []HeaderField) {
	e := NewEncoder()
	buf := e.AppendBlock(make([]byte, 0, 512), fields)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		buf = e.AppendBlock(buf[:0], fields)
	}
}

// benchmarkDecode decodes, on one connection, the block an encoder sends
// for fields once they are indexed.
func benchmarkDecode(b *testing.B, fields []HeaderField) {
	e := NewEncoder()
	d := NewDecoder(4096, 16<<10)
	if _, err := decodeBlock(d, e.AppendBlock(nil, fields)); err != nil {
		b.Fatal(err)
	}
	block := e.AppendBlock(nil, fields)
	dst := make([]HeaderField, 0, 16)
	b.SetBytes(int64(len(block)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got, err := decodeInto(d, dst, block)
		if err != nil || len(got) != len(fields) {
			b.Fatal(got, err)
		}
	}
}

// benchmarkDecodeFirst decodes the first block of a connection: every
// field a literal, so each new string is allocated.
func benchmarkDecodeFirst(b *testing.B, fields []HeaderField) {
	block := NewEncoder().AppendBlock(nil, fields)
	dst := make([]HeaderField, 0, 16)
	b.SetBytes(int64(len(block)))
	b.ReportAllocs()
	for range b.N {
		got, err := decodeInto(NewDecoder(4096, 16<<10), dst, block)
		if err != nil || !slices.Equal(got, fields) {
			b.Fatal(got, err)
		}
	}
}

func BenchmarkEncodeGRPCRequest(b *testing.B)  { benchmarkEncode(b, grpcRequest) }
func BenchmarkEncodeGRPCResponse(b *testing.B) { benchmarkEncode(b, grpcResponse) }
func BenchmarkEncodeGRPCTrailers(b *testing.B) { benchmarkEncode(b, grpcTrailers) }

func BenchmarkDecodeGRPCRequest(b *testing.B)  { benchmarkDecode(b, grpcRequest) }
func BenchmarkDecodeGRPCResponse(b *testing.B) { benchmarkDecode(b, grpcResponse) }
func BenchmarkDecodeGRPCTrailers(b *testing.B) { benchmarkDecode(b, grpcTrailers) }

func BenchmarkDecodeGRPCRequestFirstBlock(b *testing.B) { benchmarkDecodeFirst(b, grpcRequest) }

func BenchmarkParseRequest(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, err := ParseRequest(grpcRequest); err != nil {
			b.Fatal(err)
		}
	}
}
