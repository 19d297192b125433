package headers

import "testing"

func TestTable(t *testing.T) {
	tests := []struct {
		name              string
		reserved, visible bool
	}{
		// Pseudo-headers (RFC 9113 §8.3).
		{":method", true, false},
		{":scheme", true, false},
		{":path", true, false},
		{":authority", true, false},
		{":status", true, false},
		{":", true, false},
		// The gRPC protocol's own headers.
		{"content-type", true, false},
		{"te", true, false},
		{"grpc-timeout", true, false},
		{"grpc-encoding", true, false},
		{"grpc-accept-encoding", true, false},
		{"grpc-status", true, false},
		{"grpc-message", true, false},
		{"grpc-status-details-bin", true, false},
		{"grpc-", true, false},
		// Written by the gRPC layer, shown to receivers as grpc-go shows it.
		{"user-agent", true, true},
		// Connection-specific (RFC 9113 §8.2.2), and host.
		{"connection", true, false},
		{"proxy-connection", true, false},
		{"keep-alive", true, false},
		{"transfer-encoding", true, false},
		{"upgrade", true, false},
		{"host", true, false},
		// User metadata, including names that only look like reserved ones,
		// and gRFC A6's two that go through metadata.
		{"grpc-retry-pushback-ms", false, true},
		{"grpc-previous-rpc-attempts", false, true},
		{"custom", false, true},
		{"trace-bin", false, true},
		{"x-grpc-test-echo-initial", false, true},
		{"grpc", false, true},
		{"content-types", false, true},
		{"tea", false, true},
		{"t", false, true},
		{"user-agents", false, true},
		{"hosts", false, true},
		{"authority", false, true},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := Reserved(tt.name); got != tt.reserved {
			t.Errorf("Reserved(%q) = %v, want %v", tt.name, got, tt.reserved)
		}
		if got := Visible(tt.name); got != tt.visible {
			t.Errorf("Visible(%q) = %v, want %v", tt.name, got, tt.visible)
		}
	}
}

func BenchmarkVisible(b *testing.B) {
	names := []string{":path", "te", "content-type", "user-agent", "grpc-timeout", "custom-key"}
	for b.Loop() {
		for _, n := range names {
			sink = Visible(n)
		}
	}
}

var sink bool
