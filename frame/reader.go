package frame

import (
	"errors"
	"io"

	"github.com/h2rpc/h2rpc/internal/bufpool"
)

// readChunk is the size of the pooled buffer a Reader reads into while frames
// are arriving. It holds at least one frame of the default maximum size.
const readChunk = 32 << 10

// inlineRead is the size of the buffer inside every Reader that takes the
// first read after an idle period.
const inlineRead = 512

// ErrBadPreface is returned by ReadPreface when a client does not open with
// the HTTP/2 connection preface.
var ErrBadPreface = errors.New("http2: bad connection preface")

// Reader reads frames from a connection. It holds no buffer while the
// connection is idle: a read in progress takes one from a pool and gives it
// back once every byte read has been consumed. Not safe for concurrent use.
type Reader struct {
	r            io.Reader
	maxFrameSize uint32
	chunk        int     // size of the pooled read buffer; 0 for readChunk
	cur          []byte  // inline[:] or *buf, at full length; nil while idle
	buf          *[]byte // pooled; nil unless cur is pooled
	start, end   int     // unread bytes are cur[start:end]
	inline       [inlineRead]byte
	f            Frame
	// contStream is the stream whose header block is open: the next frame
	// must be a CONTINUATION on it (RFC 9113 §6.10).
	contStream uint32
}

// NewReader returns a Reader that accepts frames up to MinMaxFrameSize
// bytes, the limit in force until our own SETTINGS say otherwise.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, maxFrameSize: MinMaxFrameSize}
}

// SetReadBufferSize sets the size of the buffer a read takes from the pool
// while frames arrive (default 32 KiB); a frame larger than it still gets
// a buffer of its own size. Must be called before the first read.
func (r *Reader) SetReadBufferSize(n int) { r.chunk = max(n, 0) }

// SetMaxFrameSize sets the largest payload accepted: the
// SETTINGS_MAX_FRAME_SIZE we announced.
func (r *Reader) SetMaxFrameSize(n uint32) { r.maxFrameSize = n }

// Buffered reports how many bytes have been read from the connection but
// not yet returned as frames.
func (r *Reader) Buffered() int { return r.end - r.start }

// ReadPreface reads the client connection preface (RFC 9113 §3.4).
func (r *Reader) ReadPreface() error {
	if err := r.fill(len(ClientPreface)); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrBadPreface
		}
		return err
	}
	b := r.cur[r.start : r.start+len(ClientPreface)]
	if string(b) != ClientPreface {
		return ErrBadPreface
	}
	r.start += len(ClientPreface)
	return nil
}

// ReadFrame reads the next frame. The frame and the slices in it are valid
// until the next call. A *ConnError means the connection must end with
// GOAWAY; a *StreamError comes with the frame that caused it, whose header
// block (if any) must still be decoded to keep HPACK state in sync. Any
// other error comes from the connection itself.
func (r *Reader) ReadFrame() (*Frame, error) {
	if r.start == r.end {
		r.release()
	}
	if err := r.fill(HeaderLen); err != nil {
		return nil, err
	}
	h := ParseHeader(r.cur[r.start:])
	if h.Length > r.maxFrameSize {
		// RFC 9113 §4.2: a frame larger than SETTINGS_MAX_FRAME_SIZE is a
		// FRAME_SIZE_ERROR; we treat it as a connection error in all cases.
		return nil, connErr(ErrCodeFrameSize, "%v frame of %d bytes exceeds SETTINGS_MAX_FRAME_SIZE %d", h.Type, h.Length, r.maxFrameSize)
	}
	n := HeaderLen + int(h.Length)
	if err := r.fill(n); err != nil {
		return nil, err
	}
	payload := r.cur[r.start+HeaderLen : r.start+n]
	r.start += n
	if err := r.checkSequence(h); err != nil {
		return nil, err
	}
	err := Parse(h, payload, &r.f)
	if _, ok := err.(*ConnError); ok {
		return nil, err
	}
	return &r.f, err
}

// checkSequence enforces that a header block is a contiguous run of frames
// on one stream (RFC 9113 §4.3, §6.10).
func (r *Reader) checkSequence(h Header) error {
	if r.contStream != 0 {
		if h.Type != TypeContinuation || h.StreamID != r.contStream {
			return connErr(ErrCodeProtocol, "%v on stream %d while the header block of stream %d is open", h.Type, h.StreamID, r.contStream)
		}
		if h.Flags.Has(FlagEndHeaders) {
			r.contStream = 0
		}
		return nil
	}
	switch h.Type {
	case TypeContinuation:
		return connErr(ErrCodeProtocol, "CONTINUATION on stream %d without an open header block", h.StreamID)
	case TypeHeaders, TypePushPromise:
		if !h.Flags.Has(FlagEndHeaders) && h.StreamID != 0 {
			r.contStream = h.StreamID
		}
	}
	return nil
}

// fill makes at least n unread bytes available. The first read after the
// Reader went idle lands in the small inline buffer, so a short exchange
// (a unary call, a PING) costs one read call and no pooled buffer; when more
// bytes are needed than that read brought, the Reader moves to a pooled
// buffer big enough for a whole frame and keeps it until it is idle again.
func (r *Reader) fill(n int) error {
	for r.end-r.start < n {
		switch {
		case r.cur == nil:
			r.cur = r.inline[:]
			r.start, r.end = 0, 0
		case r.buf == nil || len(r.cur)-r.start < n:
			// Move to a pooled buffer (or a bigger one), keeping the
			// unread bytes; compact instead when the buffer is big enough.
			if r.buf != nil && n <= len(r.cur) {
				r.end = copy(r.cur, r.cur[r.start:r.end])
				r.start = 0
				break
			}
			chunk := r.chunk
			if chunk == 0 {
				chunk = readChunk
			}
			nb := bufpool.Get(max(chunk, n))
			*nb = (*nb)[:cap(*nb)]
			r.end = copy(*nb, r.cur[r.start:r.end])
			r.start = 0
			if r.buf != nil {
				bufpool.Put(r.buf)
			}
			r.buf, r.cur = nb, *nb
		}
		// Bytes that arrive are kept even if the read fails: after a
		// timeout the caller may read again and must resume where it was.
		m, err := r.r.Read(r.cur[r.end:])
		r.end += m
		if err != nil {
			if r.end-r.start >= n {
				return nil
			}
			if err == io.EOF && r.end > r.start {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// release gives the buffer back to the pool; there must be no unread bytes.
func (r *Reader) release() {
	if r.buf != nil {
		bufpool.Put(r.buf)
		r.buf = nil
	}
	r.cur = nil
	r.start, r.end = 0, 0
}

// Close releases the Reader's buffer. Frames returned before are invalid.
func (r *Reader) Close() {
	r.release()
}
