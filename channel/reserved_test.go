package channel

import (
	"maps"
	"slices"
	"testing"

	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/hpack"
)

// received is a header list holding one field of each kind a peer may send.
var received = []hpack.HeaderField{
	{Name: ":status", Value: "200"},
	{Name: ":path", Value: "/a/b"},
	{Name: ":authority", Value: "in-fields"},
	{Name: "content-type", Value: "application/grpc"},
	{Name: "te", Value: "trailers"},
	{Name: "user-agent", Value: "ua/1"},
	{Name: "grpc-encoding", Value: "gzip"},
	{Name: "grpc-accept-encoding", Value: "gzip"},
	{Name: "grpc-timeout", Value: "1S"},
	{Name: "grpc-status", Value: "0"},
	{Name: "grpc-message", Value: "m"},
	{Name: "grpc-status-details-bin", Value: "AA"},
	{Name: "grpc-retry-pushback-ms", Value: "10"},
	{Name: "host", Value: "h"},
	{Name: "custom", Value: "c1"},
	{Name: "custom", Value: "c2"},
	{Name: "x-grpc-test", Value: "x"},
	{Name: "data-bin", Value: "AP8"},
	{Name: "broken-bin", Value: "!"},
}

// want is the metadata users see of received, but for :authority.
var want = metadata.MD{
	"user-agent":  {"ua/1"},
	"custom":      {"c1", "c2"},
	"x-grpc-test": {"x"},
	"data-bin":    {"\x00\xff"},
	// gRFC A6's pushback reaches users, as in grpc-go.
	"grpc-retry-pushback-ms": {"10"},
}

func equalMD(a, b metadata.MD) bool {
	return maps.EqualFunc(a, b, slices.Equal)
}

func TestReceivedMetadata(t *testing.T) {
	if got := headerMD(received); !equalMD(got, want) {
		t.Errorf("headerMD = %v, want %v", got, want)
	}
	in := maps.Clone(want)
	in[":authority"] = []string{"example.test"}
	if got := incomingMD(received, len(want), "example.test"); !equalMD(got, in) {
		t.Errorf("incomingMD = %v, want %v", got, in)
	}
	if got := incomingMD(received, len(want), ""); !equalMD(got, want) {
		t.Errorf("incomingMD without an authority = %v, want %v", got, want)
	}
}
