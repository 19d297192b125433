package channel

import (
	"encoding/binary"
	"errors"
	"io"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/codec"
	"github.com/h2rpc/h2rpc/internal/bufpool"
)

// MsgHeaderLen is the size of the prefix of every gRPC message on the wire:
// a compressed flag and a 4-byte big-endian length. Buffers handed to
// SendMsg and Invoke keep this many bytes free at the front, so the message
// goes out without being copied to make room for its prefix.
const MsgHeaderLen = 5

// DefaultMaxRecvMsgSize is the largest message received unless configured
// otherwise, as in grpc-go.
const DefaultMaxRecvMsgSize = 4 << 20

// maxWireMsgSize is the largest length the 4-byte prefix can express that
// we accept at all; sends above it are refused.
const maxWireMsgSize = 1<<32 - 1

const (
	flagUncompressed = 0
	flagCompressed   = 1
)

// putMsgHeader fills the prefix of p, whose message is p[MsgHeaderLen:].
func putMsgHeader(p []byte, compressed bool) {
	p[0] = flagUncompressed
	if compressed {
		p[0] = flagCompressed
	}
	binary.BigEndian.PutUint32(p[1:MsgHeaderLen], uint32(len(p)-MsgHeaderLen))
}

// msgReader reads length-prefixed messages from a stream body.
type msgReader struct {
	r          io.Reader
	limit      int              // largest message accepted, after decompression
	decomp     codec.Compressor // the peer's grpc-encoding; nil for identity
	hdr        [MsgHeaderLen]byte
	compressed bool // whether the last message read had the compressed flag
	size       int  // the size of the last message read, as received
	// eager counts the bytes of messages allocated in full before their
	// bytes arrived, across the connection's calls; nil for no limit.
	eager *atomic.Int64
}

// next reads one message and appends it (decompressed) to buf[:0]. At a
// clean end of the body it returns io.EOF; a body that ends inside a
// message is INTERNAL. Errors of the underlying reader are returned as they
// are, for the caller to map.
func (m *msgReader) next(buf []byte) ([]byte, error) {
	n, err := io.ReadFull(m.r, m.hdr[:])
	if err != nil {
		if err == io.EOF && n == 0 {
			return buf[:0], io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return buf[:0], status.Error(codes.Internal, "grpc: message prefix cut short by end of stream")
		}
		return buf[:0], err
	}
	switch m.hdr[0] {
	case flagUncompressed:
		m.compressed = false
	case flagCompressed:
		m.compressed = true
		if m.decomp == nil {
			return buf[:0], status.Error(codes.Internal, "grpc: compressed flag set on a message, but no grpc-encoding was negotiated")
		}
	default:
		return buf[:0], status.Errorf(codes.Internal, "grpc: invalid message flags 0x%02x", m.hdr[0])
	}
	size := int64(binary.BigEndian.Uint32(m.hdr[1:]))
	m.size = int(size)
	if size > int64(m.limit) {
		return buf[:0], status.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", size, m.limit)
	}
	if !m.compressed {
		return m.readBody(buf[:0], int(size))
	}
	sp := bufpool.Get(int(min(size, 64<<10)))
	raw, err := m.readBody(*sp, int(size))
	*sp = raw
	defer bufpool.Put(sp)
	if err != nil {
		return buf[:0], err
	}
	out, err := m.decomp.Decompress(buf[:0], raw, m.limit)
	if err != nil {
		if errors.Is(err, codec.ErrTooLarge) {
			return buf[:0], status.Errorf(codes.ResourceExhausted, "grpc: received message after decompression larger than max %d", m.limit)
		}
		return buf[:0], status.Errorf(codes.Internal, "grpc: failed to decompress the message: %v", err)
	}
	return out, nil
}

// readBody appends size bytes of the body to dst. It grows dst as the bytes
// arrive, so a peer that announces a large message and sends little of it
// costs little memory.
func (m *msgReader) readBody(dst []byte, size int) ([]byte, error) {
	const step = 64 << 10
	if size <= eagerBody && cap(dst)-len(dst) < size && m.takeEager(size) {
		// Up to this size the whole message is allocated at once, as
		// grpc-go does; growing by doubling would copy it twice. A peer
		// that announces large messages on many streams and sends little
		// of them gets this only up to the connection's eager budget;
		// beyond it buffers grow with what arrives.
		defer m.giveEager(size)
		grown := make([]byte, len(dst), len(dst)+size)
		copy(grown, dst)
		dst = grown
	}
	for size > 0 {
		k := min(size, step)
		if cap(dst)-len(dst) < k {
			grown := make([]byte, len(dst), len(dst)+max(k, min(size, 2*cap(dst))))
			copy(grown, dst)
			dst = grown
		}
		n, err := io.ReadFull(m.r, dst[len(dst):len(dst)+k])
		dst = dst[:len(dst)+n]
		size -= n
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return dst, status.Error(codes.Internal, "grpc: message cut short by end of stream")
			}
			return dst, err
		}
	}
	return dst, nil
}

// eagerBody is the largest message whose buffer is allocated in full as
// soon as its prefix arrives.
const eagerBody = DefaultMaxRecvMsgSize

// eagerBudget bounds, per connection, the bytes of messages allocated in
// full while their bytes are still arriving.
const eagerBudget = 8 << 20

func (m *msgReader) takeEager(n int) bool {
	if m.eager == nil || int64(n) <= 64<<10 {
		return true
	}
	if m.eager.Add(int64(n)) > eagerBudget {
		m.eager.Add(-int64(n))
		return false
	}
	return true
}

func (m *msgReader) giveEager(n int) {
	if m.eager != nil && int64(n) > 64<<10 {
		m.eager.Add(-int64(n))
	}
}

// compressMsg compresses the message of p (after its reserved prefix) into
// a pooled buffer with a prefix of its own; the caller puts it back.
func compressMsg(c codec.Compressor, p []byte) (*[]byte, error) {
	sp := bufpool.Get(MsgHeaderLen + (len(p)-MsgHeaderLen)/2 + 64)
	out, err := c.Compress((*sp)[:MsgHeaderLen], p[MsgHeaderLen:])
	*sp = out
	if err != nil {
		bufpool.Put(sp)
		return nil, status.Errorf(codes.Internal, "grpc: failed to compress the message: %v", err)
	}
	return sp, nil
}

// dataWriter is where writeMsg sends: a client's *stream.Stream, or a
// server call's transport.
type dataWriter interface {
	WriteData(p []byte, endStream, flush bool) error
}

// writeMsg sends the message of p (after its reserved prefix) as DATA,
// compressed with comp unless comp is nil, and returns the size of the
// message as sent (after compression). Errors of compression are status
// errors; others come from the stream.
func writeMsg(st dataWriter, comp codec.Compressor, p []byte, endStream, flush bool) (int, error) {
	if comp == nil {
		putMsgHeader(p, false)
		return len(p) - MsgHeaderLen, st.WriteData(p, endStream, flush)
	}
	sp, err := compressMsg(comp, p)
	if err != nil {
		return 0, err
	}
	defer bufpool.Put(sp)
	if err := checkSendSize(*sp, maxWireMsgSize); err != nil {
		return 0, err
	}
	putMsgHeader(*sp, true)
	return len(*sp) - MsgHeaderLen, st.WriteData(*sp, endStream, flush)
}

// checkSendSize refuses a message larger than limit.
func checkSendSize(p []byte, limit int) error {
	if len(p) < MsgHeaderLen {
		return status.Errorf(codes.Internal, "grpc: message buffer shorter than its %d-byte prefix", MsgHeaderLen)
	}
	n := len(p) - MsgHeaderLen
	if n > limit || n > maxWireMsgSize {
		return status.Errorf(codes.ResourceExhausted, "grpc: trying to send message larger than max (%d vs. %d)", n, limit)
	}
	return nil
}
