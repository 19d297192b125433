package codes

import "testing"

func TestString(t *testing.T) {
	tests := []struct {
		c    Code
		want string
	}{
		{OK, "OK"},
		{Canceled, "Canceled"},
		{Unknown, "Unknown"},
		{InvalidArgument, "InvalidArgument"},
		{DeadlineExceeded, "DeadlineExceeded"},
		{NotFound, "NotFound"},
		{AlreadyExists, "AlreadyExists"},
		{PermissionDenied, "PermissionDenied"},
		{ResourceExhausted, "ResourceExhausted"},
		{FailedPrecondition, "FailedPrecondition"},
		{Aborted, "Aborted"},
		{OutOfRange, "OutOfRange"},
		{Unimplemented, "Unimplemented"},
		{Internal, "Internal"},
		{Unavailable, "Unavailable"},
		{DataLoss, "DataLoss"},
		{Unauthenticated, "Unauthenticated"},
		{17, "Code(17)"},
		{1 << 31, "Code(2147483648)"},
		{^Code(0), "Code(4294967295)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Code(%d).String() = %q, want %q", uint32(tt.c), got, tt.want)
		}
	}
}

func TestValues(t *testing.T) {
	// The numeric values are fixed by the protocol.
	if Unauthenticated != 16 || DataLoss != 15 || Unavailable != 14 || Unknown != 2 {
		t.Fatal("code values drifted from the protocol")
	}
}
