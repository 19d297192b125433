package status

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestNilStatusIsOK(t *testing.T) {
	var s *Status
	if s.Code() != codes.OK || s.Message() != "" || s.Err() != nil || s.Details() != nil || s.DetailsAny() != nil {
		t.Fatal("nil Status does not behave as OK")
	}
	if got := s.String(); got != "rpc error: code = OK desc = " {
		t.Fatalf("String() = %q", got)
	}
	if New(codes.OK, "fine").Err() != nil {
		t.Fatal("OK status with a message gave an error")
	}
	if Error(codes.OK, "x") != nil || Errorf(codes.OK, "%d", 1) != nil {
		t.Fatal("Error(OK) is not nil")
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{Error(codes.NotFound, "no such thing"), "rpc error: code = NotFound desc = no such thing"},
		{Errorf(codes.Internal, "broke %d times", 3), "rpc error: code = Internal desc = broke 3 times"},
		{Error(codes.Code(42), ""), "rpc error: code = Code(42) desc = "},
		{Newf(codes.Aborted, "%s!", "stop").Err(), "rpc error: code = Aborted desc = stop!"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestFromError(t *testing.T) {
	base := Error(codes.NotFound, "gone")
	withDetail, err := New(codes.NotFound, "gone").WithDetails(durationpb.New(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	wrappedDetail := fmt.Errorf("lookup: %w", withDetail.Err())
	tests := []struct {
		name     string
		err      error
		wantCode codes.Code
		wantMsg  string
		wantOK   bool
		wantNil  bool
		details  int
	}{
		{name: "nil", err: nil, wantCode: codes.OK, wantOK: true, wantNil: true},
		{name: "status", err: base, wantCode: codes.NotFound, wantMsg: "gone", wantOK: true},
		{name: "wrapped", err: fmt.Errorf("lookup: %w", base), wantCode: codes.NotFound,
			wantMsg: "lookup: rpc error: code = NotFound desc = gone", wantOK: true},
		{name: "wrapped keeps details", err: wrappedDetail, wantCode: codes.NotFound,
			wantMsg: wrappedDetail.Error(), wantOK: true, details: 1},
		{name: "joined", err: errors.Join(errors.New("a"), base), wantCode: codes.NotFound,
			wantMsg: "a\nrpc error: code = NotFound desc = gone", wantOK: true},
		{name: "plain", err: errors.New("boom"), wantCode: codes.Unknown, wantMsg: "boom"},
		{name: "nil status", err: nilStatusErr{}, wantCode: codes.Unknown, wantMsg: "nil status"},
		{name: "wrapped nil status", err: fmt.Errorf("w: %w", nilStatusErr{}), wantCode: codes.Unknown, wantMsg: "w: nil status"},
		{name: "custom", err: customErr{}, wantCode: codes.PermissionDenied, wantMsg: "custom says no", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ok := FromError(tt.err)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			if (s == nil) != tt.wantNil {
				t.Errorf("status nil = %v, want %v", s == nil, tt.wantNil)
			}
			if s.Code() != tt.wantCode || s.Message() != tt.wantMsg {
				t.Errorf("got %v %q, want %v %q", s.Code(), s.Message(), tt.wantCode, tt.wantMsg)
			}
			if len(s.DetailsAny()) != tt.details {
				t.Errorf("got %d details, want %d", len(s.DetailsAny()), tt.details)
			}
			if Code(tt.err) != tt.wantCode {
				t.Errorf("Code() = %v, want %v", Code(tt.err), tt.wantCode)
			}
			if Convert(tt.err) != s && !Convert(tt.err).equal(s) {
				t.Errorf("Convert differs from FromError")
			}
		})
	}
}

type nilStatusErr struct{}

func (nilStatusErr) Error() string       { return "nil status" }
func (nilStatusErr) GRPCStatus() *Status { return nil }

type customErr struct{}

func (customErr) Error() string       { return "custom" }
func (customErr) GRPCStatus() *Status { return New(codes.PermissionDenied, "custom says no") }

func TestFromContextError(t *testing.T) {
	tests := []struct {
		err  error
		want codes.Code
	}{
		{context.DeadlineExceeded, codes.DeadlineExceeded},
		{context.Canceled, codes.Canceled},
		{fmt.Errorf("op: %w", context.Canceled), codes.Canceled},
		{errors.New("other"), codes.Unknown},
	}
	for _, tt := range tests {
		s := FromContextError(tt.err)
		if s.Code() != tt.want || s.Message() != tt.err.Error() {
			t.Errorf("FromContextError(%v) = %v %q, want %v", tt.err, s.Code(), s.Message(), tt.want)
		}
	}
	if FromContextError(nil) != nil {
		t.Error("FromContextError(nil) != nil")
	}
}

func TestDetails(t *testing.T) {
	if _, err := New(codes.OK, "").WithDetails(wrapperspb.String("x")); err == nil {
		t.Fatal("WithDetails on OK succeeded")
	}
	s := New(codes.InvalidArgument, "bad")
	s1, err := s.WithDetails(wrapperspb.String("first"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := s1.WithDetails(durationpb.New(3*time.Second), wrapperspb.Int64(7))
	if err != nil {
		t.Fatal(err)
	}
	if s.HasDetails() || len(s1.DetailsAny()) != 1 || len(s2.DetailsAny()) != 3 {
		t.Fatal("WithDetails mutated its receiver or lost details")
	}
	d := s2.Details()
	if got, ok := d[0].(*wrapperspb.StringValue); !ok || got.GetValue() != "first" {
		t.Errorf("detail 0 = %v", d[0])
	}
	if got, ok := d[1].(*durationpb.Duration); !ok || got.AsDuration() != 3*time.Second {
		t.Errorf("detail 1 = %v", d[1])
	}
	if got, ok := d[2].(*wrapperspb.Int64Value); !ok || got.GetValue() != 7 {
		t.Errorf("detail 2 = %v", d[2])
	}

	// A detail of a type this program does not know is an error in its slot.
	unknown := &Status{code: codes.Internal, msg: "m", details: []*anypb.Any{
		{TypeUrl: "type.googleapis.com/no.such.Type", Value: []byte{8, 1}},
		{TypeUrl: "type.googleapis.com/google.protobuf.StringValue", Value: []byte{0xff}},
	}}
	for i, v := range unknown.Details() {
		if _, ok := v.(error); !ok {
			t.Errorf("detail %d = %T, want an error", i, v)
		}
	}

	// DetailsAny returns copies: changing them leaves the status alone.
	a := s2.DetailsAny()
	a[0].TypeUrl = "changed"
	if s2.DetailsAny()[0].TypeUrl == "changed" {
		t.Fatal("DetailsAny exposed the status's own details")
	}
}

func TestIs(t *testing.T) {
	d1, _ := New(codes.NotFound, "x").WithDetails(wrapperspb.String("a"))
	d2, _ := New(codes.NotFound, "x").WithDetails(wrapperspb.String("b"))
	d1b, _ := New(codes.NotFound, "x").WithDetails(wrapperspb.String("a"))
	tests := []struct {
		a, b error
		want bool
	}{
		{Error(codes.NotFound, "x"), Error(codes.NotFound, "x"), true},
		{Error(codes.NotFound, "x"), Error(codes.NotFound, "y"), false},
		{Error(codes.NotFound, "x"), Error(codes.Internal, "x"), false},
		{d1.Err(), d1b.Err(), true},
		{d1.Err(), d2.Err(), false},
		{d1.Err(), Error(codes.NotFound, "x"), false},
		{fmt.Errorf("w: %w", Error(codes.NotFound, "x")), Error(codes.NotFound, "x"), true},
		{Error(codes.NotFound, "x"), errors.New("rpc error: code = NotFound desc = x"), false},
	}
	for i, tt := range tests {
		if got := errors.Is(tt.a, tt.b); got != tt.want {
			t.Errorf("%d: errors.Is(%v, %v) = %v, want %v", i, tt.a, tt.b, got, tt.want)
		}
	}
	var se *StatusError
	if !errors.As(fmt.Errorf("w: %w", Error(codes.Aborted, "a")), &se) || se.GRPCStatus().Code() != codes.Aborted {
		t.Fatal("errors.As did not find *StatusError")
	}
}

func TestStringMatchesError(t *testing.T) {
	s := New(codes.Unavailable, "down")
	if s.String() != s.Err().Error() || !strings.HasPrefix(s.String(), "rpc error: ") {
		t.Fatalf("String %q, Error %q", s.String(), s.Err().Error())
	}
	if New(codes.Unavailable, "").DetailsAny() != nil {
		t.Fatal("a status without details returned some")
	}
}
