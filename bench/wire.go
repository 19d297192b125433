package bench

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2/hpack"
)

// WireCounters counts what the connections of a run carry, by watching
// their bytes: the generator's client stack is not changed for it, and a
// run that does not count pays nothing. Wrap each connection with
// CountConn (for TLS: the raw connection with CountConn and the TLS
// connection above it with CountFrames). Counters are safe for
// concurrent use.
type WireCounters struct {
	bytesOut, bytesIn   atomic.Uint64
	writes, reads       atomic.Uint64
	framesOut, framesIn [numFrameTypes]atomic.Uint64
	// HPACK: header block bytes on the wire and the header lists they
	// carry (names and values), each way.
	blockOut, listOut atomic.Uint64
	blockIn, listIn   atomic.Uint64
	stallsOut         atomic.Uint64 // our DATA used up a send window
	stallsIn          atomic.Uint64 // the peer's DATA used up the window we gave
	conns             atomic.Uint64
}

// numFrameTypes counts HTTP/2's ten frame types and one slot for unknown
// ones.
const numFrameTypes = 11

// FrameTypeNames names the frame types of WireStats's arrays.
var FrameTypeNames = [numFrameTypes]string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION", "unknown"}

// WireStats is a snapshot of WireCounters.
type WireStats struct {
	Conns             uint64
	BytesOut, BytesIn uint64
	Writes, Reads     uint64 // read and write calls, each one system call
	FramesOut         [numFrameTypes]uint64
	FramesIn          [numFrameTypes]uint64
	// HPACK: header block bytes sent and received, and the bytes of the
	// header lists (names and values) they carry.
	HeaderBlockOut, HeaderListOut uint64
	HeaderBlockIn, HeaderListIn   uint64
	// StallsOut counts our DATA frames that used up a stream's or the
	// connection's send window; StallsIn the peer's that used up ours.
	StallsOut, StallsIn uint64
}

// Snapshot reads the counters.
func (w *WireCounters) Snapshot() WireStats {
	s := WireStats{
		Conns: w.conns.Load(), BytesOut: w.bytesOut.Load(), BytesIn: w.bytesIn.Load(),
		Writes: w.writes.Load(), Reads: w.reads.Load(),
		HeaderBlockOut: w.blockOut.Load(), HeaderListOut: w.listOut.Load(),
		HeaderBlockIn: w.blockIn.Load(), HeaderListIn: w.listIn.Load(),
		StallsOut: w.stallsOut.Load(), StallsIn: w.stallsIn.Load(),
	}
	for i := range s.FramesOut {
		s.FramesOut[i] = w.framesOut[i].Load()
		s.FramesIn[i] = w.framesIn[i].Load()
	}
	return s
}

// Sub returns s minus an earlier snapshot o.
func (s WireStats) Sub(o WireStats) WireStats {
	d := WireStats{
		Conns: s.Conns, BytesOut: s.BytesOut - o.BytesOut, BytesIn: s.BytesIn - o.BytesIn,
		Writes: s.Writes - o.Writes, Reads: s.Reads - o.Reads,
		HeaderBlockOut: s.HeaderBlockOut - o.HeaderBlockOut, HeaderListOut: s.HeaderListOut - o.HeaderListOut,
		HeaderBlockIn: s.HeaderBlockIn - o.HeaderBlockIn, HeaderListIn: s.HeaderListIn - o.HeaderListIn,
		StallsOut: s.StallsOut - o.StallsOut, StallsIn: s.StallsIn - o.StallsIn,
	}
	for i := range d.FramesOut {
		d.FramesOut[i] = s.FramesOut[i] - o.FramesOut[i]
		d.FramesIn[i] = s.FramesIn[i] - o.FramesIn[i]
	}
	return d
}

// Ratio returns header-list bytes per header-block byte (how much HPACK
// compressed), or 0 with no headers.
func ratio(list, block uint64) float64 {
	if block == 0 {
		return 0
	}
	return float64(list) / float64(block)
}

// HPACKRatioOut is the compression ratio of the headers we sent.
func (s WireStats) HPACKRatioOut() float64 { return ratio(s.HeaderListOut, s.HeaderBlockOut) }

// HPACKRatioIn is the compression ratio of the headers we received.
func (s WireStats) HPACKRatioIn() float64 { return ratio(s.HeaderListIn, s.HeaderBlockIn) }

// countConn counts bytes and read and write calls (each one system call on
// a TCP connection) when w is set, and the HTTP/2 frames when out and in
// are.
type countConn struct {
	net.Conn
	w       *WireCounters // nil: frames only
	out, in *frameParser  // nil: bytes only
}

// CountConn wraps c so that its traffic is counted in w; with frames, the
// HTTP/2 frames in it too (c must carry plaintext HTTP/2).
func CountConn(c net.Conn, w *WireCounters, frames bool) net.Conn {
	cc := &countConn{Conn: c, w: w}
	if frames {
		cc.out, cc.in = newFramePair(w)
	}
	w.conns.Add(1)
	return cc
}

// CountFrames wraps c, the plaintext side of a TLS connection whose raw
// side CountConn counts, so that its HTTP/2 frames are counted in w.
func CountFrames(c net.Conn, w *WireCounters) net.Conn {
	cc := &countConn{Conn: c}
	cc.out, cc.in = newFramePair(w)
	return cc
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.w != nil {
		c.w.reads.Add(1)
		c.w.bytesIn.Add(uint64(n))
	}
	c.frames(c.in, p[:n])
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if c.w != nil {
		c.w.writes.Add(1)
		c.w.bytesOut.Add(uint64(n))
	}
	c.frames(c.out, p[:n])
	return n, err
}

func (c *countConn) frames(fp *frameParser, p []byte) {
	if fp != nil && len(p) > 0 {
		fp.feed(p)
	}
}

// flowState is a connection's flow-control windows, as seen on the wire,
// for both directions: the parsers of each direction update it.
type flowState struct {
	mu sync.Mutex
	// Indexed by direction: 0 our sending, 1 the peer's.
	conn    [2]int64
	initial [2]int64
	streams [2]map[uint32]int64
}

func newFramePair(w *WireCounters) (out, in *frameParser) {
	fs := &flowState{conn: [2]int64{65535, 65535}, initial: [2]int64{65535, 65535}}
	fs.streams[0], fs.streams[1] = map[uint32]int64{}, map[uint32]int64{}
	out = &frameParser{w: w, dir: 0, flow: fs, preface: len(clientPreface)}
	in = &frameParser{w: w, dir: 1, flow: fs}
	record := func(list, block *atomic.Uint64) *hpack.Decoder {
		d := hpack.NewDecoder(4096, func(f hpack.HeaderField) { list.Add(uint64(len(f.Name) + len(f.Value))) })
		d.SetAllowedMaxDynamicTableSize(1 << 30)
		d.SetMaxStringLength(1 << 24)
		return d
	}
	out.dec, in.dec = record(&w.listOut, &w.blockOut), record(&w.listIn, &w.blockIn)
	return out, in
}

const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// frameParser follows the frames of one direction of a connection. Only
// the goroutine writing (or reading) that direction feeds it.
type frameParser struct {
	w       *WireCounters
	dir     int
	flow    *flowState
	dec     *hpack.Decoder
	broken  bool // HPACK failed: stop decoding
	preface int  // bytes of the client preface still to skip

	hdr    [9]byte
	nhdr   int
	left   int    // payload bytes of the current frame still to come
	keep   bool   // the payload is collected into body
	body   []byte // collected payload
	typ    uint8
	flags  uint8
	stream uint32
}

func (p *frameParser) feed(b []byte) {
	if p.preface > 0 {
		n := min(p.preface, len(b))
		p.preface -= n
		b = b[n:]
	}
	for len(b) > 0 {
		if p.nhdr < 9 {
			n := copy(p.hdr[p.nhdr:], b)
			p.nhdr += n
			b = b[n:]
			if p.nhdr < 9 {
				return
			}
			p.begin()
			if p.left == 0 {
				p.finish()
			}
			continue
		}
		n := min(p.left, len(b))
		if p.keep {
			p.body = append(p.body, b[:n]...)
		}
		p.left -= n
		b = b[n:]
		if p.left == 0 {
			p.finish()
		}
	}
}

func (p *frameParser) begin() {
	p.left = int(p.hdr[0])<<16 | int(p.hdr[1])<<8 | int(p.hdr[2])
	p.typ, p.flags = p.hdr[3], p.hdr[4]
	p.stream = binary.BigEndian.Uint32(p.hdr[5:]) & (1<<31 - 1)
	t := int(p.typ)
	if t >= numFrameTypes-1 {
		t = numFrameTypes - 1
	}
	if p.dir == 0 {
		p.w.framesOut[t].Add(1)
	} else {
		p.w.framesIn[t].Add(1)
	}
	switch p.typ {
	case 0x1, 0x9, 0x4, 0x8: // HEADERS, CONTINUATION, SETTINGS, WINDOW_UPDATE
		p.keep = true
		p.body = p.body[:0]
	default:
		p.keep = false
	}
	if p.typ == 0x0 { // DATA
		p.data(int64(p.left))
	}
}

func (p *frameParser) finish() {
	p.nhdr = 0
	const (
		endStream  = 0x1
		endHeaders = 0x4
		padded     = 0x8
		priority   = 0x20
	)
	switch p.typ {
	case 0x0:
		if p.flags&endStream != 0 {
			p.ended()
		}
	case 0x1, 0x9:
		frag := p.body
		if p.typ == 0x1 {
			if p.flags&padded != 0 && len(frag) > 0 {
				pad := int(frag[0])
				frag = frag[1:]
				if pad <= len(frag) {
					frag = frag[:len(frag)-pad]
				}
			}
			if p.flags&priority != 0 && len(frag) >= 5 {
				frag = frag[5:]
			}
			if p.flags&endStream != 0 {
				p.ended()
			}
		}
		if p.dir == 0 {
			p.w.blockOut.Add(uint64(len(frag)))
		} else {
			p.w.blockIn.Add(uint64(len(frag)))
		}
		if !p.broken {
			if _, err := p.dec.Write(frag); err != nil {
				p.broken = true
			}
			if p.flags&endHeaders != 0 && !p.broken {
				if p.dec.Close() != nil {
					p.broken = true
				}
			}
		}
	case 0x3: // RST_STREAM
		p.flow.mu.Lock()
		delete(p.flow.streams[0], p.stream)
		delete(p.flow.streams[1], p.stream)
		p.flow.mu.Unlock()
	case 0x4: // SETTINGS from this direction set the other's stream window
		if p.flags&0x1 != 0 {
			return
		}
		for b := p.body; len(b) >= 6; b = b[6:] {
			if binary.BigEndian.Uint16(b) == 0x4 {
				p.flow.setInitial(1-p.dir, int64(binary.BigEndian.Uint32(b[2:])))
			}
		}
	case 0x8: // WINDOW_UPDATE from this direction grows the other's window
		if len(p.body) == 4 {
			p.flow.grow(1-p.dir, p.stream, int64(binary.BigEndian.Uint32(p.body)&(1<<31-1)))
		}
	}
}

// data spends n bytes of this direction's windows, and counts a stall
// when that exhausts one.
func (p *frameParser) data(n int64) {
	if n == 0 {
		return
	}
	f := p.flow
	f.mu.Lock()
	f.conn[p.dir] -= n
	w, ok := f.streams[p.dir][p.stream]
	if !ok {
		w = f.initial[p.dir]
	}
	w -= n
	f.streams[p.dir][p.stream] = w
	stalled := w <= 0 || f.conn[p.dir] <= 0
	f.mu.Unlock()
	if stalled {
		if p.dir == 0 {
			p.w.stallsOut.Add(1)
		} else {
			p.w.stallsIn.Add(1)
		}
	}
}

// ended forgets the stream once this direction stops sending on it.
func (p *frameParser) ended() {
	p.flow.mu.Lock()
	delete(p.flow.streams[p.dir], p.stream)
	p.flow.mu.Unlock()
}

func (f *flowState) setInitial(dir int, v int64) {
	f.mu.Lock()
	delta := v - f.initial[dir]
	f.initial[dir] = v
	for id := range f.streams[dir] {
		f.streams[dir][id] += delta
	}
	f.mu.Unlock()
}

func (f *flowState) grow(dir int, stream uint32, n int64) {
	f.mu.Lock()
	if stream == 0 {
		f.conn[dir] += n
	} else if w, ok := f.streams[dir][stream]; ok {
		// Streams not sending (not yet, or no more) are not tracked.
		f.streams[dir][stream] = w + n
	}
	f.mu.Unlock()
}
