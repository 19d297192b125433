package hpack

import (
	"errors"
	"fmt"
)

// ErrCompression reports a header block that is not valid HPACK (RFC 7541):
// a bad index, bad Huffman code, integer overflow, a misplaced or oversized
// dynamic table size update, or a block that ends inside a field. The caller
// answers with a connection error COMPRESSION_ERROR; the Decoder that
// returned it cannot be used again.
var ErrCompression = errors.New("hpack: compression error")

// ErrHeaderListTooLarge reports a decoded header list larger than the
// decoder's maximum header list size (RFC 9113 §6.5.2). The block was still
// decoded to keep the dynamic table in step with the peer, so the Decoder
// stays usable; the caller refuses the one stream (431 or RST_STREAM).
var ErrHeaderListTooLarge = errors.New("hpack: header list too large")

// ErrBlockTooLarge reports a header block whose encoded bytes, summed over
// HEADERS and CONTINUATION fragments, passed the decoder's hard cap (see
// Decoder.Write). The caller closes the connection with ENHANCE_YOUR_CALM;
// the Decoder cannot be used again.
var ErrBlockTooLarge = errors.New("hpack: header block too large")

// ErrMalformed is matched by every *MalformedError, so callers can test
// errors.Is(err, ErrMalformed).
var ErrMalformed = errors.New("hpack: malformed header list")

// MalformedError reports a header list that breaks the HTTP/2 field rules
// (RFC 9113 §8.1–8.3). The caller answers with a stream error PROTOCOL_ERROR.
type MalformedError struct {
	// Reason says which rule was broken, naming the field where it helps.
	Reason string
}

// Error implements error.
func (e *MalformedError) Error() string { return "hpack: malformed header list: " + e.Reason }

// Is reports whether target is ErrMalformed.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(format string, args ...any) error {
	return &MalformedError{Reason: fmt.Sprintf(format, args...)}
}

// compressionErr wraps a reason, and optionally an underlying error, into
// an error that matches ErrCompression.
func compressionErr(reason string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCompression, reason, err)
	}
	return fmt.Errorf("%w: %s", ErrCompression, reason)
}
