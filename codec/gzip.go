package codec

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Gzip is the "gzip" compressor at the default compression level.
var Gzip Compressor = &gzipCompressor{level: gzip.DefaultCompression}

// NewGzip returns a "gzip" compressor writing at the given compress/gzip
// level. Register it to replace the default one.
func NewGzip(level int) (Compressor, error) {
	if level < gzip.HuffmanOnly || level > gzip.BestCompression {
		return nil, fmt.Errorf("codec: gzip: invalid compression level %d", level)
	}
	return &gzipCompressor{level: level}, nil
}

type gzipCompressor struct {
	level   int
	writers sync.Pool // of *gzipWriter
}

// appendWriter is an io.Writer appending to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

type gzipWriter struct {
	out appendWriter
	zw  *gzip.Writer
}

// gzipReader pairs a gzip.Reader with the bytes.Reader it reads from, so
// neither is allocated per message.
type gzipReader struct {
	in bytes.Reader
	zr gzip.Reader
}

var gzipReaders sync.Pool // of *gzipReader

func (*gzipCompressor) Name() string { return "gzip" }

func (g *gzipCompressor) Compress(dst, src []byte) ([]byte, error) {
	w, _ := g.writers.Get().(*gzipWriter)
	if w == nil {
		w = &gzipWriter{}
		// The level was checked when g was made.
		w.zw, _ = gzip.NewWriterLevel(&w.out, g.level)
	} else {
		w.zw.Reset(&w.out)
	}
	w.out.b = dst
	_, err := w.zw.Write(src)
	if err == nil {
		err = w.zw.Close()
	}
	dst = w.out.b
	w.out.b = nil
	g.writers.Put(w)
	if err != nil {
		return dst, fmt.Errorf("codec: gzip: %w", err)
	}
	return dst, nil
}

// gzipMaxRatio bounds how much one compressed byte can expand (deflate's
// limit is about 1032:1); it caps a preallocation hint.
const gzipMaxRatio = 1032

func (*gzipCompressor) Decompress(dst, src []byte, limit int) ([]byte, error) {
	start := len(dst)
	r, _ := gzipReaders.Get().(*gzipReader)
	if r == nil {
		r = &gzipReader{}
	}
	defer func() {
		r.in.Reset(nil)
		gzipReaders.Put(r)
	}()
	r.in.Reset(src)
	if err := r.zr.Reset(&r.in); err != nil {
		return dst[:start], fmt.Errorf("codec: gzip: %w", err)
	}
	r.zr.Multistream(true)

	// The trailer holds the size of the last member's output modulo 2^32:
	// only a hint, so it is capped by the limit and by the deflate ratio.
	if len(src) >= 4 {
		hint := int(binary.LittleEndian.Uint32(src[len(src)-4:]))
		hint = min(hint, len(src)*gzipMaxRatio)
		if limit >= 0 {
			hint = min(hint, limit+1)
		}
		dst = slices.Grow(dst, hint)
	}
	// end is where output stops: one byte past the limit, which is enough
	// to tell that the limit is exceeded.
	end := -1
	if limit >= 0 {
		end = start + limit + 1
	}
	for {
		if len(dst) == cap(dst) {
			if end >= 0 && len(dst) >= end {
				return dst[:start], ErrTooLarge
			}
			grow := max(cap(dst)-start, 512)
			if end >= 0 {
				grow = min(grow, end-len(dst))
			}
			dst = slices.Grow(dst, grow)
		}
		window := dst[len(dst):cap(dst)]
		if end >= 0 && len(window) > end-len(dst) {
			window = window[:end-len(dst)]
		}
		if len(window) == 0 {
			return dst[:start], ErrTooLarge
		}
		n, err := r.zr.Read(window)
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return dst[:start], fmt.Errorf("codec: gzip: %w", err)
		}
	}
	if end >= 0 && len(dst) >= end {
		return dst[:start], ErrTooLarge
	}
	return dst, nil
}
