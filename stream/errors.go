package stream

import (
	"errors"
	"fmt"

	"github.com/h2rpc/h2rpc/frame"
)

var (
	// ErrConnClosed is returned for work on a connection that has closed.
	ErrConnClosed = errors.New("stream: connection closed")
	// ErrConnDraining is returned by NewStream once the connection is
	// going away (a GOAWAY was sent or received, or stream IDs ran out):
	// open the stream on a new connection.
	ErrConnDraining = errors.New("stream: connection is draining; open a new one")
	// ErrNotClient is returned by NewStream on a server connection: only
	// clients open streams (we never push).
	ErrNotClient = errors.New("stream: only a client connection opens streams")
	// ErrStreamClosed is returned for writes after the local side ended.
	ErrStreamClosed = errors.New("stream: write after end of stream")
	// ErrHeaderListTooLarge is returned when headers exceed the peer's
	// SETTINGS_MAX_HEADER_LIST_SIZE; nothing was sent.
	ErrHeaderListTooLarge = errors.New("stream: header list exceeds the peer's limit")
	// ErrSendBudget is returned by WriteData when waiting for the peer's
	// flow-control window would hold more bytes than the connection's or
	// the server's budget allows (Config.MaxBlockedSendBytes, SendBudget);
	// the stream has been reset with ENHANCE_YOUR_CALM.
	ErrSendBudget = errors.New("stream: too many bytes waiting for the peer's flow-control window")
)

// ResetError reports that a stream was reset, by the peer (Remote) or by us.
type ResetError struct {
	Code   frame.ErrCode
	Remote bool
}

// Error describes the reset and who sent it.
func (e *ResetError) Error() string {
	if e.Remote {
		return fmt.Sprintf("stream: reset by peer: %v", e.Code)
	}
	return fmt.Sprintf("stream: reset: %v", e.Code)
}

// GoAwayError reports that the peer sent GOAWAY. Streams with IDs above
// LastStreamID were not processed and may be retried on a new connection
// (Unprocessed is true for them).
type GoAwayError struct {
	LastStreamID uint32
	Code         frame.ErrCode
	Debug        string
	Unprocessed  bool
}

// Error describes the GOAWAY.
func (e *GoAwayError) Error() string {
	s := fmt.Sprintf("stream: peer sent GOAWAY %v (last stream %d)", e.Code, e.LastStreamID)
	if e.Debug != "" {
		s += ": " + e.Debug
	}
	if e.Unprocessed {
		s += "; stream not processed"
	}
	return s
}

// ConnError is the error that closed a connection: a protocol violation by
// one side (Code, Remote telling whose), or an I/O error (Err).
type ConnError struct {
	Code   frame.ErrCode
	Remote bool
	Reason string
	Err    error
}

// Error describes why the connection closed.
func (e *ConnError) Error() string {
	if e.Err != nil {
		return "stream: connection lost: " + e.Err.Error()
	}
	who := "local"
	if e.Remote {
		who = "peer"
	}
	return fmt.Sprintf("stream: connection error (%s) %v: %s", who, e.Code, e.Reason)
}

// Unwrap returns the I/O error, if that is what closed the connection.
func (e *ConnError) Unwrap() error { return e.Err }
