package otelh2rpc

import (
	"strconv"

	"github.com/h2rpc/h2rpc/channel/codes"
)

// canonical holds the status codes' names as gRPC's status code table
// writes them, which is how A66's grpc.status and the semantic conventions'
// rpc.response.status_code name them.
var canonical = [...]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

func canonicalString(c codes.Code) string {
	if int(c) < len(canonical) {
		return canonical[c]
	}
	return "CODE(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// serverError reports whether a server span ends in error for code c: the
// semantic conventions count only the codes that mean the server failed.
func serverError(c codes.Code) bool {
	switch c {
	case codes.Unknown, codes.DeadlineExceeded, codes.Unimplemented, codes.Internal, codes.Unavailable, codes.DataLoss:
		return true
	}
	return false
}
