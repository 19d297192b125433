package torture

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
)

// batchBytes is how many bytes of frames a flood gathers before one write
// call: large enough that the attacker is limited by the server, not by
// system calls.
const batchBytes = 32 << 10

// readWindow is the receive window an attacker that reads announces for the
// connection and for every stream, so that responses never wait on it.
const readWindow = 1 << 24

// windowReturn is how many DATA bytes received make a reading attacker give
// the connection window back with one WINDOW_UPDATE.
const windowReturn = 1 << 20

// readBuffer is the size of an attacker's read buffer: small, since a
// test's heap counts the attacker's too.
const readBuffer = 16 << 10

// maxDebug is the most GOAWAY debug data kept for the report.
const maxDebug = 200

// serverSettings are the server's SETTINGS as far as an attack cares.
type serverSettings struct {
	maxConcurrentStreams uint32 // 0: not announced, so unlimited
	initialWindowSize    uint32
	maxFrameSize         uint32
	headerTableSize      uint32
}

func defaultServerSettings() serverSettings {
	return serverSettings{
		initialWindowSize: frame.DefaultWindowSize,
		maxFrameSize:      frame.MinMaxFrameSize,
		headerTableSize:   frame.DefaultHeaderTableSize,
	}
}

// apply records one parameter of a SETTINGS frame.
func (s *serverSettings) apply(id frame.SettingID, v uint32) {
	switch id {
	case frame.SettingMaxConcurrentStreams:
		s.maxConcurrentStreams = v
	case frame.SettingInitialWindowSize:
		s.initialWindowSize = v
	case frame.SettingMaxFrameSize:
		s.maxFrameSize = v
	case frame.SettingHeaderTableSize:
		s.headerTableSize = v
	}
}

// dialer opens connections to the target, over TLS with ALPN h2 when tls
// is set.
type dialer struct {
	target  string
	tls     *tls.Config
	timeout time.Duration
}

func (d *dialer) dial(ctx context.Context) (net.Conn, error) {
	nd := net.Dialer{Timeout: d.timeout}
	nc, err := nd.DialContext(ctx, "tcp", d.target)
	if err != nil {
		return nil, err
	}
	if d.tls == nil {
		return nc, nil
	}
	tc := tls.Client(nc, d.tls)
	hctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
		nc.Close()
		return nil, fmt.Errorf("the server did not negotiate h2 through ALPN (got %q)", p)
	}
	return tc, nil
}

// owedFrame is a control frame the reader owes the server (an
// acknowledgement or a window update), sent by the writer with its next
// batch.
type owedFrame struct {
	t    frame.Type
	data [8]byte
	inc  uint32
}

// conn is one attacker connection. Its flood runs on one goroutine, the
// writer, which owns the fields above mu. Frames from the server are read
// by a second goroutine: from the start for attacks that read, and for the
// others only once the server has stopped reading them (a write made no
// progress for the stall timeout), to learn why.
type conn struct {
	nc    net.Conn
	isTLS bool
	peer  serverSettings
	start time.Time // the flood's start, origin of every time reported
	end   time.Time // when the flood stops
	stall time.Duration
	// noAcks keeps owed control frames out of the stream of frames: a
	// header block is open, or the preface was never completed.
	noAcks bool

	// Owned by the writer.
	buf    []byte
	ends   []int // end offset in buf of each frame not yet fully written
	frames int64
	bytes  int64
	enc    *hpack.Encoder
	hbuf   []byte
	nextID uint32

	// Owned by whoever reads: the handshake, then the reading goroutine.
	br   *bufio.Reader
	rbuf []byte

	mu         sync.Mutex
	cond       sync.Cond // windows changed, or the connection ended
	owed       []owedFrame
	unreturned int64            // DATA bytes received and not yet given back
	connWin    int64            // our send window on the connection
	streamWin  map[uint32]int64 // our send windows on the streams that track one
	goAway     *goAwayInfo
	goAwayAt   time.Duration
	writeErr   error // the write that ended the flood, or nil
	writeHow   string
	writeAt    time.Duration
	readHow    string // how the reader saw the connection end, or ""
	readAt     time.Duration
	stalledAt  time.Duration // first stall; valid when stalls > 0
	stalls     int
	received   int64
	rstRecv    int64
	lastRead   time.Time
	reading    bool
	closing    bool // we are closing the socket ourselves
	readDone   chan struct{}
}

// goAwayInfo is a GOAWAY frame received.
type goAwayInfo struct {
	code   frame.ErrCode
	lastID uint32
	debug  string
}

func newConn(nc net.Conn, stall time.Duration) *conn {
	_, isTLS := nc.(*tls.Conn)
	c := &conn{
		nc:        nc,
		isTLS:     isTLS,
		peer:      defaultServerSettings(),
		stall:     stall,
		enc:       hpack.NewEncoder(),
		nextID:    1,
		br:        bufio.NewReaderSize(nc, readBuffer),
		connWin:   frame.DefaultWindowSize,
		streamWin: map[uint32]int64{},
		readDone:  make(chan struct{}),
	}
	c.cond.L = &c.mu
	return c
}

// handshake sends the client preface with settings (and a connection
// window increment when inc > 0), reads until the server's SETTINGS and
// acknowledges them.
func (c *conn) handshake(settings []frame.Setting, inc uint32, timeout time.Duration) error {
	b := append([]byte(nil), frame.ClientPreface...)
	b = frame.AppendSettings(b, settings...)
	if inc > 0 {
		b = frame.AppendWindowUpdate(b, 0, inc)
	}
	deadline := time.Now().Add(timeout)
	c.nc.SetDeadline(deadline)
	defer c.nc.SetDeadline(time.Time{})
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("writing the preface: %w", err)
	}
	for {
		h, p, err := c.readFrame()
		if err != nil {
			return fmt.Errorf("waiting for the server's SETTINGS: %w", err)
		}
		if h.Type == frame.TypeGoAway && len(p) >= 8 {
			return fmt.Errorf("the server sent GOAWAY %v before its SETTINGS", frame.ErrCode(be32(p[4:])))
		}
		if h.Type != frame.TypeSettings || h.Flags.Has(frame.FlagAck) {
			continue
		}
		for i := 0; i+6 <= len(p); i += 6 {
			c.peer.apply(frame.SettingID(uint16(p[i])<<8|uint16(p[i+1])), be32(p[i+2:]))
		}
		break
	}
	c.enc.SetMaxDynamicTableSizeLimit(c.peer.headerTableSize)
	if _, err := c.nc.Write(frame.AppendSettingsAck(nil)); err != nil {
		return fmt.Errorf("acknowledging the server's SETTINGS: %w", err)
	}
	return nil
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// readFrame reads the next frame; its payload is valid until the next call.
func (c *conn) readFrame() (frame.Header, []byte, error) {
	var hb [frame.HeaderLen]byte
	if _, err := io.ReadFull(c.br, hb[:]); err != nil {
		return frame.Header{}, nil, err
	}
	h := frame.ParseHeader(hb[:])
	if cap(c.rbuf) < int(h.Length) {
		c.rbuf = make([]byte, h.Length)
	}
	p := c.rbuf[:h.Length]
	if _, err := io.ReadFull(c.br, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, err
	}
	return h, p, nil
}

// since is the time elapsed from the flood's start.
func (c *conn) since() time.Duration { return time.Since(c.start) }

// startReader starts the reading goroutine, once.
func (c *conn) startReader() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reading {
		return
	}
	c.reading = true
	c.lastRead = time.Now()
	go c.readLoop()
}

func (c *conn) readLoop() {
	defer close(c.readDone)
	for {
		h, p, err := c.readFrame()
		if err != nil {
			c.readEnded(err)
			return
		}
		c.onFrame(h, p)
	}
}

// readEnded records how reading ended.
func (c *conn) readEnded(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.cond.Broadcast()
	if c.closing && errors.Is(err, net.ErrClosed) {
		return // our own Close
	}
	c.readHow, c.readAt = connEnd(err), c.since()
}

// connEnd names how a read or write error ended a connection.
func connEnd(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "TCP close"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "TCP reset"
	}
	return err.Error()
}

// onFrame handles one frame from the server.
func (c *conn) onFrame(h frame.Header, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.received++
	c.lastRead = time.Now()
	switch h.Type {
	case frame.TypeSettings:
		if h.Flags.Has(frame.FlagAck) {
			return
		}
		for i := 0; i+6 <= len(p); i += 6 {
			id, v := frame.SettingID(uint16(p[i])<<8|uint16(p[i+1])), be32(p[i+2:])
			if id == frame.SettingInitialWindowSize {
				// RFC 9113 §6.9.2: the change applies to every open stream.
				delta := int64(v) - int64(c.peer.initialWindowSize)
				for s := range c.streamWin {
					c.streamWin[s] += delta
				}
			}
			c.peer.apply(id, v)
		}
		c.owed = append(c.owed, owedFrame{t: frame.TypeSettings})
		c.cond.Broadcast()
	case frame.TypePing:
		if !h.Flags.Has(frame.FlagAck) && len(p) == 8 {
			o := owedFrame{t: frame.TypePing}
			copy(o.data[:], p)
			c.owed = append(c.owed, o)
		}
	case frame.TypeWindowUpdate:
		if len(p) != 4 {
			return
		}
		inc := int64(be32(p) & (1<<31 - 1))
		if h.StreamID == 0 {
			c.connWin += inc
		} else if _, ok := c.streamWin[h.StreamID]; ok {
			c.streamWin[h.StreamID] += inc
		}
		c.cond.Broadcast()
	case frame.TypeData:
		c.unreturned += int64(h.Length)
		if c.unreturned >= windowReturn {
			c.owed = append(c.owed, owedFrame{t: frame.TypeWindowUpdate, inc: uint32(c.unreturned)})
			c.unreturned = 0
		}
		if h.Flags.Has(frame.FlagEndStream) {
			delete(c.streamWin, h.StreamID)
			c.cond.Broadcast()
		}
	case frame.TypeHeaders:
		if h.Flags.Has(frame.FlagEndStream) {
			delete(c.streamWin, h.StreamID)
			c.cond.Broadcast()
		}
	case frame.TypeRSTStream:
		c.rstRecv++
		delete(c.streamWin, h.StreamID)
		c.cond.Broadcast()
	case frame.TypeGoAway:
		if len(p) < 8 {
			return
		}
		g := &goAwayInfo{lastID: be32(p) & (1<<31 - 1), code: frame.ErrCode(be32(p[4:]))}
		debug := p[8:]
		if len(debug) > maxDebug {
			debug = debug[:maxDebug]
		}
		g.debug = string(debug)
		// Keep the first GOAWAY, unless a later one says why the
		// connection ends where the first was graceful.
		if c.goAway == nil || (c.goAway.code == frame.ErrCodeNo && g.code != frame.ErrCodeNo) {
			c.goAway, c.goAwayAt = g, c.since()
		}
		c.cond.Broadcast()
	}
}

// endedLocked reports whether the server has ended the connection: a
// GOAWAY with an error code, or the end of the TCP connection seen by
// either side.
func (c *conn) endedLocked() bool {
	return (c.goAway != nil && c.goAway.code != frame.ErrCodeNo) || c.readHow != "" || c.writeHow != ""
}

// live reports whether the flood goes on: its time is not up, the
// connection is up and writes still work.
func (c *conn) live() bool {
	if !time.Now().Before(c.end) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeErr == nil && !c.endedLocked()
}

// mark records that a whole frame was just appended to buf.
func (c *conn) mark() { c.ends = append(c.ends, len(c.buf)) }

// newStreamID returns the next client stream ID, or false once they are
// exhausted (RFC 9113 §5.1.1).
func (c *conn) newStreamID() (uint32, bool) {
	id := c.nextID
	if id > 1<<31-1 {
		return 0, false
	}
	c.nextID += 2
	return id, true
}

// request appends a HEADERS frame opening stream id with a gRPC request
// for path, encoded by the connection's HPACK encoder.
func (c *conn) request(id uint32, fields []hpack.HeaderField, endStream bool) {
	c.hbuf = c.enc.AppendBlock(c.hbuf[:0], fields)
	c.buf = frame.AppendHeaders(c.buf, id, endStream, c.hbuf, c.peer.maxFrameSize)
	c.mark()
}

// appendOwed appends the control frames the reader owes the server.
func (c *conn) appendOwed() {
	if c.noAcks {
		return
	}
	c.mu.Lock()
	owed := c.owed
	c.owed = nil
	c.mu.Unlock()
	for _, o := range owed {
		switch o.t {
		case frame.TypeSettings:
			c.buf = frame.AppendSettingsAck(c.buf)
		case frame.TypePing:
			c.buf = frame.AppendPing(c.buf, true, o.data)
		case frame.TypeWindowUpdate:
			c.buf = frame.AppendWindowUpdate(c.buf, 0, o.inc)
		}
		c.mark()
	}
}

// errFloodOver is returned by flush when the flood's time ran out before
// the batch was written.
var errFloodOver = errors.New("torture: the flood's time is up")

// flush writes the batch. Each write has a deadline: the flood's end, or
// the stall timeout, after which the server is taken to have stopped
// reading and the reader is started; the write then goes on. A frame cut
// by a timeout stays queued, so the stream of frames stays whole.
func (c *conn) flush() error {
	c.appendOwed()
	for len(c.buf) > 0 {
		now := time.Now()
		if !now.Before(c.end) {
			return errFloodOver
		}
		c.nc.SetWriteDeadline(earlier(now.Add(c.stall), c.end))
		n, err := c.nc.Write(c.buf)
		c.written(n)
		if err == nil {
			continue
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			c.writeFailed(err, connEnd(err))
			return err
		}
		if time.Since(now) >= c.stall {
			c.stalled()
		}
		if c.isTLS {
			// A TLS connection cannot write again after a timeout.
			c.writeFailed(err, "")
			return err
		}
	}
	return nil
}

// written accounts for n bytes written from the front of buf.
func (c *conn) written(n int) {
	if n == 0 {
		return
	}
	k := 0
	for k < len(c.ends) && c.ends[k] <= n {
		k++
	}
	c.frames += int64(k)
	c.bytes += int64(n)
	c.buf = c.buf[:copy(c.buf, c.buf[n:])]
	c.ends = c.ends[:copy(c.ends, c.ends[k:])]
	for i := range c.ends {
		c.ends[i] -= n
	}
}

// writeFailed ends the flood after a write error; how is the way the
// connection ended, or "" when the error says nothing about the server.
func (c *conn) writeFailed(err error, how string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeErr = err
	if how != "" {
		c.writeHow, c.writeAt = how, c.since()
	}
	c.cond.Broadcast()
}

// stalled records that a write made no progress for the stall timeout, and
// starts reading.
func (c *conn) stalled() {
	c.mu.Lock()
	if c.stalls == 0 {
		c.stalledAt = c.since()
	}
	c.stalls++
	c.mu.Unlock()
	c.startReader()
}

// waitLocked waits for cond until ready returns true, the flood's time is
// up or the connection ends; it reports whether ready returned true.
func (c *conn) waitLocked(ready func() bool) bool {
	return c.waitUntilLocked(ready, c.end)
}

// waitUntilLocked is waitLocked with a time limit of its own, at most the
// flood's end.
func (c *conn) waitUntilLocked(ready func() bool, until time.Time) bool {
	until = earlier(until, c.end)
	t := time.AfterFunc(time.Until(until), func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer t.Stop()
	for !ready() {
		if !time.Now().Before(until) || c.writeErr != nil || c.endedLocked() {
			return false
		}
		c.cond.Wait()
	}
	return true
}

// hold keeps the connection as it is until the flood's time is up or the
// connection ends.
func (c *conn) hold() {
	c.mu.Lock()
	c.waitLocked(func() bool { return false })
	c.mu.Unlock()
}

// observe reads what the server sends after the flood, until the
// connection ends, nothing has arrived for idle, or max has passed.
func (c *conn) observe(idle, limit time.Duration) {
	c.startReader()
	t0 := time.Now()
	tick := time.NewTicker(min(idle/10, 20*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-c.readDone:
			return
		case <-tick.C:
		}
		c.mu.Lock()
		last := c.lastRead
		c.mu.Unlock()
		if last.Before(t0) {
			last = t0
		}
		if time.Since(last) >= idle || time.Since(t0) >= limit {
			return
		}
	}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// close closes the socket and waits for the reader.
func (c *conn) close() {
	c.mu.Lock()
	c.closing = true
	reading := c.reading
	c.mu.Unlock()
	c.nc.Close()
	if reading {
		<-c.readDone
	}
}

// result summarises the connection once it is closed.
func (c *conn) result() ConnResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := ConnResult{
		FramesSent:     c.frames,
		BytesSent:      c.bytes,
		FramesReceived: c.received,
		RSTReceived:    c.rstRecv,
		How:            "open",
	}
	if c.stalls > 0 {
		r.Stalled = true
		r.StalledAfter = Seconds(c.stalledAt)
	}
	at := time.Duration(-1)
	earliest := func(d time.Duration) {
		if at < 0 || d < at {
			at = d
		}
	}
	if c.goAway != nil {
		r.GoAway = c.goAway.code.String()
		r.GoAwayDebug = c.goAway.debug
		if c.goAway.code != frame.ErrCodeNo {
			earliest(c.goAwayAt)
		}
	}
	// What the reader saw is more faithful than a failed write: a write
	// fails the same way whether the server closed or reset.
	switch {
	case c.readHow != "":
		r.How = c.readHow
		earliest(c.readAt)
		if c.writeHow != "" {
			earliest(c.writeAt)
		}
	case c.writeHow != "":
		r.How = c.writeHow
		earliest(c.writeAt)
	case at >= 0:
		r.How = "socket left open"
	}
	if at >= 0 {
		r.Closed = true
		r.ClosedAfter = Seconds(at)
	}
	if c.writeErr != nil && c.writeHow == "" {
		r.Error = c.writeErr.Error()
	}
	return r
}
