package channel

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/stream"
)

// codeForHTTPStatus maps the HTTP status of a response that carries no
// grpc-status (PROTOCOL-HTTP2, "HTTP to gRPC status code mapping").
func codeForHTTPStatus(s int) codes.Code {
	switch s {
	case http.StatusBadRequest:
		return codes.Internal
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.Unimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return codes.Unavailable
	default:
		return codes.Unknown
	}
}

func httpStatusError(s int) error {
	return status.Errorf(codeForHTTPStatus(s), "unexpected HTTP status code received from server: %d (%s)", s, http.StatusText(s))
}

// codeForReset maps the error code of a RST_STREAM (PROTOCOL-HTTP2, "Errors").
func codeForReset(c frame.ErrCode) codes.Code {
	switch c {
	case frame.ErrCodeCancel:
		return codes.Canceled
	case frame.ErrCodeRefusedStream:
		return codes.Unavailable
	case frame.ErrCodeEnhanceYourCalm:
		return codes.ResourceExhausted
	case frame.ErrCodeInadequateSecurity:
		return codes.PermissionDenied
	default:
		return codes.Internal
	}
}

// streamError turns an error of the stream layer into a status error. ctx
// is the call's context: a stream we reset because ctx ended reports why
// ctx ended.
func streamError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if isStatusError(err) {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		var re *stream.ResetError
		if errors.As(err, &re) && !re.Remote || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return status.FromContextError(ctxErr).Err()
		}
	}
	var re *stream.ResetError
	if errors.As(err, &re) {
		if re.Remote && re.Code == frame.ErrCodeCancel && deadlinePassed(ctx) {
			// The server gave up on the call because its deadline passed
			// (PROTOCOL-HTTP2: RST_STREAM CANCEL after the deadline).
			return status.Error(codes.DeadlineExceeded, "context deadline exceeded")
		}
		if re.Remote {
			return status.Errorf(codeForReset(re.Code), "stream terminated by RST_STREAM with error code: %s", re.Code)
		}
		return status.Errorf(codeForReset(re.Code), "stream reset: %s", re.Code)
	}
	var ge *stream.GoAwayError
	if errors.As(err, &ge) {
		return status.Errorf(codes.Unavailable, "connection going away: %v", ge)
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return status.FromContextError(err).Err()
	case errors.Is(err, stream.ErrHeaderListTooLarge):
		return status.Error(codes.Internal, "header list exceeds the peer's limit")
	case errors.Is(err, stream.ErrSendBudget):
		return status.Error(codes.ResourceExhausted, "grpc: too many bytes waiting for the peer to read; the call was reset")
	}
	// Connection errors: the connection is gone, the call may succeed on
	// a new one.
	return status.Errorf(codes.Unavailable, "connection error: %v", err)
}

// deadlinePassed reports whether ctx has a deadline and it has passed,
// whether or not ctx's own timer has fired yet.
func deadlinePassed(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

func isStatusError(err error) bool {
	var se *status.StatusError
	return errors.As(err, &se)
}

// notSentError is an error of a call that never left the client: its
// stream could not be opened.
type notSentError struct{ err error }

func (e notSentError) Error() string { return e.err.Error() }
func (e notSentError) Unwrap() error { return e.err }

// retryable reports whether a failed attempt was certainly not processed
// by the server, so it may be sent again on another connection.
func retryable(err error) bool { return neverSent(err) || unprocessed(err) }

// neverSent reports whether an attempt failed before its stream existed.
func neverSent(err error) bool {
	return errors.As(err, new(notSentError)) || errors.Is(err, stream.ErrConnDraining)
}

// unprocessed reports whether the server's HTTP/2 layer refused an
// attempt before any handler saw it: REFUSED_STREAM, or a stream above a
// GOAWAY's last stream ID.
func unprocessed(err error) bool {
	var re *stream.ResetError
	if errors.As(err, &re) {
		return re.Remote && re.Code == frame.ErrCodeRefusedStream
	}
	var ge *stream.GoAwayError
	return errors.As(err, &ge) && ge.Unprocessed
}

// grpcStatusCode parses a grpc-status value.
func grpcStatusCode(v string) (codes.Code, bool) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, false
	}
	return codes.Code(n), true
}
