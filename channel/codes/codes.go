package codes

import "strconv"

// Code is a gRPC status code, as carried in the grpc-status trailer.
type Code uint32

// The canonical status codes, with the values fixed by the gRPC protocol.
const (
	// OK means the call completed successfully.
	OK Code = 0
	// Canceled means the call was cancelled, typically by the caller.
	Canceled Code = 1
	// Unknown is an error with no better-fitting code, or one whose
	// status came from a different error space.
	Unknown Code = 2
	// InvalidArgument means the caller supplied an invalid argument,
	// independent of the state of the system.
	InvalidArgument Code = 3
	// DeadlineExceeded means the deadline expired before the operation
	// could complete.
	DeadlineExceeded Code = 4
	// NotFound means a requested entity was not found.
	NotFound Code = 5
	// AlreadyExists means an entity the caller tried to create exists.
	AlreadyExists Code = 6
	// PermissionDenied means the caller may not perform the operation.
	PermissionDenied Code = 7
	// ResourceExhausted means a resource, such as a quota or memory, ran out.
	ResourceExhausted Code = 8
	// FailedPrecondition means the system is not in a state required for
	// the operation.
	FailedPrecondition Code = 9
	// Aborted means the operation was aborted, typically by a concurrency
	// conflict.
	Aborted Code = 10
	// OutOfRange means the operation was attempted past the valid range.
	OutOfRange Code = 11
	// Unimplemented means the operation is not implemented or supported.
	Unimplemented Code = 12
	// Internal means an invariant expected by the system was broken.
	Internal Code = 13
	// Unavailable means the service is currently unavailable; retrying
	// may succeed.
	Unavailable Code = 14
	// DataLoss means unrecoverable data loss or corruption.
	DataLoss Code = 15
	// Unauthenticated means the request lacks valid credentials.
	Unauthenticated Code = 16
)

var names = [...]string{
	OK:                 "OK",
	Canceled:           "Canceled",
	Unknown:            "Unknown",
	InvalidArgument:    "InvalidArgument",
	DeadlineExceeded:   "DeadlineExceeded",
	NotFound:           "NotFound",
	AlreadyExists:      "AlreadyExists",
	PermissionDenied:   "PermissionDenied",
	ResourceExhausted:  "ResourceExhausted",
	FailedPrecondition: "FailedPrecondition",
	Aborted:            "Aborted",
	OutOfRange:         "OutOfRange",
	Unimplemented:      "Unimplemented",
	Internal:           "Internal",
	Unavailable:        "Unavailable",
	DataLoss:           "DataLoss",
	Unauthenticated:    "Unauthenticated",
}

// String returns the code's name, such as "NotFound", or "Code(17)" for a
// value outside the canonical set.
func (c Code) String() string {
	if uint64(c) < uint64(len(names)) {
		return names[c]
	}
	return "Code(" + strconv.FormatUint(uint64(c), 10) + ")"
}
