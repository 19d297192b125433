package status

import (
	"context"
	"errors"
	"fmt"

	"github.com/h2rpc/h2rpc/channel/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Status is the outcome of an RPC: a code, a message and optional details.
// A Status is immutable once built. A nil *Status means OK, and every method
// accepts a nil receiver.
type Status struct {
	code    codes.Code
	msg     string
	details []*anypb.Any
}

// New returns a Status with the given code and message.
func New(c codes.Code, msg string) *Status {
	return &Status{code: c, msg: msg}
}

// Newf returns a Status with the given code and a message formatted as by
// fmt.Sprintf.
func Newf(c codes.Code, format string, args ...any) *Status {
	return New(c, fmt.Sprintf(format, args...))
}

// Error returns an error for the given code and message, or nil if c is OK.
func Error(c codes.Code, msg string) error {
	return New(c, msg).Err()
}

// Errorf returns an error for the given code and a message formatted as by
// fmt.Sprintf, or nil if c is OK.
func Errorf(c codes.Code, format string, args ...any) error {
	return Error(c, fmt.Sprintf(format, args...))
}

// Code returns the status code; OK for a nil Status.
func (s *Status) Code() codes.Code {
	if s == nil {
		return codes.OK
	}
	return s.code
}

// Message returns the status message; empty for a nil Status.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return s.msg
}

// Err returns an error carrying s, or nil if s is OK. The error is a
// *StatusError whose GRPCStatus method returns s.
func (s *Status) Err() error {
	if s.Code() == codes.OK {
		return nil
	}
	return &StatusError{s: s}
}

// String describes the status in the same form as its error.
func (s *Status) String() string {
	return "rpc error: code = " + s.Code().String() + " desc = " + s.Message()
}

// WithDetails returns a copy of s with the given messages appended to its
// details, each packed in a google.protobuf.Any. It fails for an OK status,
// which carries no details, and when a message cannot be marshalled.
func (s *Status) WithDetails(details ...proto.Message) (*Status, error) {
	if s.Code() == codes.OK {
		return nil, errors.New("status: no details for a status with code OK")
	}
	ns := &Status{code: s.code, msg: s.msg}
	ns.details = make([]*anypb.Any, len(s.details), len(s.details)+len(details))
	copy(ns.details, s.details)
	for _, d := range details {
		a, err := anypb.New(d)
		if err != nil {
			return nil, fmt.Errorf("status: packing detail: %w", err)
		}
		ns.details = append(ns.details, a)
	}
	return ns, nil
}

// Details returns the status details, each unpacked into its message type
// as found in protoregistry.GlobalTypes. A detail whose type is unknown, or
// that cannot be unmarshalled, is reported as an error value in its slot.
func (s *Status) Details() []any {
	if s == nil || len(s.details) == 0 {
		return nil
	}
	out := make([]any, len(s.details))
	for i, a := range s.details {
		m, err := a.UnmarshalNew()
		if err != nil {
			out[i] = err
			continue
		}
		out[i] = m
	}
	return out
}

// DetailsAny returns copies of the packed details.
func (s *Status) DetailsAny() []*anypb.Any {
	if s == nil || len(s.details) == 0 {
		return nil
	}
	out := make([]*anypb.Any, len(s.details))
	for i, a := range s.details {
		out[i] = proto.Clone(a).(*anypb.Any)
	}
	return out
}

// HasDetails reports whether s carries any details.
func (s *Status) HasDetails() bool {
	return s != nil && len(s.details) > 0
}

// equal reports whether s and t have the same code, message and details.
func (s *Status) equal(t *Status) bool {
	if s.Code() != t.Code() || s.Message() != t.Message() {
		return false
	}
	var sd, td []*anypb.Any
	if s != nil {
		sd = s.details
	}
	if t != nil {
		td = t.details
	}
	if len(sd) != len(td) {
		return false
	}
	for i := range sd {
		if !proto.Equal(sd[i], td[i]) {
			return false
		}
	}
	return true
}

// StatusError is the error returned by Status.Err. (The package-level
// function Error takes the name grpc-go users know, so the type carries a
// longer one.)
type StatusError struct {
	s *Status
}

// Error describes the status: "rpc error: code = NotFound desc = ...".
func (e *StatusError) Error() string {
	return e.s.String()
}

// GRPCStatus returns the status carried by e.
func (e *StatusError) GRPCStatus() *Status {
	return e.s
}

// Is reports whether target is a *StatusError with the same code, message
// and details.
func (e *StatusError) Is(target error) bool {
	t, ok := target.(*StatusError)
	if !ok {
		return false
	}
	return e.s.equal(t.s)
}

// grpcStatus is implemented by errors that carry a Status.
type grpcStatus interface{ GRPCStatus() *Status }

// FromError returns the Status carried by err and true, if err or an error
// it wraps has a GRPCStatus method. When the status is found by unwrapping,
// its message is replaced by err.Error(), so the wrapping context is kept.
// A nil err gives (nil, true): a nil Status is OK. Any other error gives a
// Status with code Unknown and err's text, and false.
func FromError(err error) (*Status, bool) {
	if err == nil {
		return nil, true
	}
	if gs, ok := err.(grpcStatus); ok {
		s := gs.GRPCStatus()
		if s == nil {
			// A nil status would mean OK for a non-nil error; there is no
			// sensible reading of that, so report it as Unknown.
			return New(codes.Unknown, err.Error()), false
		}
		return s, true
	}
	var gs grpcStatus
	if errors.As(err, &gs) {
		s := gs.GRPCStatus()
		if s == nil {
			return New(codes.Unknown, err.Error()), false
		}
		return &Status{code: s.code, msg: err.Error(), details: s.details}, true
	}
	return New(codes.Unknown, err.Error()), false
}

// Convert returns the Status for err as FromError does, dropping the flag.
func Convert(err error) *Status {
	s, _ := FromError(err)
	return s
}

// Code returns the status code of err: OK for nil, the carried code for an
// error with a status, and Unknown otherwise.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	return Convert(err).Code()
}

// FromContextError converts a context error into a Status: DeadlineExceeded
// for context.DeadlineExceeded, Canceled for context.Canceled, and Unknown
// for anything else. It returns nil for a nil error.
func FromContextError(err error) *Status {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return New(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return New(codes.Canceled, err.Error())
	default:
		return New(codes.Unknown, err.Error())
	}
}
