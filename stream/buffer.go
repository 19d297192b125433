package stream

import "github.com/h2rpc/h2rpc/internal/bufpool"

// dataBuffer holds received DATA until the application reads it, in pooled
// chunks that go back to the pool as soon as they are read. Its size is
// bounded by the stream's receive window.
type dataBuffer struct {
	chunks []*[]byte
	inline [2]*[]byte // backs chunks while few are held
	off    int        // read offset in chunks[0]
	n      int        // unread bytes
}

const minChunk = 1 << 10

func (b *dataBuffer) Len() int { return b.n }

func (b *dataBuffer) Write(p []byte) {
	b.n += len(p)
	if len(b.chunks) > 0 {
		last := b.chunks[len(b.chunks)-1]
		k := min(cap(*last)-len(*last), len(p))
		*last = append(*last, p[:k]...)
		p = p[k:]
	}
	if b.chunks == nil {
		b.chunks = b.inline[:0]
	}
	for len(p) > 0 {
		c := bufpool.Get(max(len(p), minChunk))
		k := min(cap(*c), len(p))
		*c = append(*c, p[:k]...)
		p = p[k:]
		b.chunks = append(b.chunks, c)
	}
}

func (b *dataBuffer) Read(p []byte) int {
	n := 0
	for n < len(p) && len(b.chunks) > 0 {
		c := b.chunks[0]
		k := copy(p[n:], (*c)[b.off:])
		n += k
		b.off += k
		if b.off == len(*c) {
			bufpool.Put(c)
			b.chunks[0] = nil
			b.chunks = b.chunks[1:]
			b.off = 0
		}
	}
	b.n -= n
	if len(b.chunks) == 0 {
		b.chunks = nil
		b.inline = [2]*[]byte{}
	}
	return n
}

// Reset drops everything and returns how many unread bytes were dropped.
func (b *dataBuffer) Reset() int {
	n := b.n
	for i, c := range b.chunks {
		bufpool.Put(c)
		b.chunks[i] = nil
	}
	*b = dataBuffer{}
	return n
}
