package hpack

import (
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

// unhex decodes hex written with any spacing and line breaks.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hf(name, value string) HeaderField { return HeaderField{Name: name, Value: value} }

// decodeBlock decodes one whole block with d, in a single fragment.
func decodeBlock(d *Decoder, block []byte) ([]HeaderField, error) {
	return decodeInto(d, nil, block)
}

// decodeInto decodes one whole block with d into dst[:0].
func decodeInto(d *Decoder, dst []HeaderField, block []byte) ([]HeaderField, error) {
	d.Begin(dst)
	if err := d.Write(block); err != nil {
		return nil, err
	}
	return d.End()
}

func mustDecode(t testing.TB, d *Decoder, block []byte, want []HeaderField) {
	t.Helper()
	got, err := decodeBlock(d, block)
	if err != nil {
		t.Fatalf("decode %x: %v", block, err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("decode %x:\n got %v\nwant %v", block, got, want)
	}
}

// grpcRequest is a typical gRPC request header list.
var grpcRequest = []HeaderField{
	hf(":method", "POST"),
	hf(":scheme", "http"),
	hf(":path", "/grpc.testing.TestService/UnaryCall"),
	hf(":authority", "localhost:50051"),
	hf("content-type", "application/grpc"),
	hf("te", "trailers"),
	hf("user-agent", "h2rpc/0.1"),
	hf("grpc-timeout", "1S"),
	hf("grpc-accept-encoding", "gzip"),
}

// grpcResponse is a typical gRPC response header list.
var grpcResponse = []HeaderField{
	hf(":status", "200"),
	hf("content-type", "application/grpc"),
	hf("grpc-encoding", "identity"),
	hf("grpc-accept-encoding", "gzip"),
}

// grpcTrailers are typical gRPC trailers.
var grpcTrailers = []HeaderField{
	hf("grpc-status", "0"),
	hf("grpc-message", ""),
}
