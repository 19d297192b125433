package stream

import (
	"context"
	"errors"
	"github.com/h2rpc/h2rpc/internal/logx"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
)

// Role says which end of the connection we are.
type Role uint8

const (
	// Client opens streams (odd IDs) and sends requests.
	Client Role = iota
	// Server accepts streams and hands each to a Handler.
	Server
)

// Handler serves one stream accepted by a server connection. It runs on its
// own goroutine; the stream is reset if the handler returns without ending
// its side of it.
type Handler func(*Stream)

// maxStreamID is the largest stream identifier (RFC 9113 §5.1.1).
const maxStreamID = 1<<31 - 1

// shutdownPingData marks the PING of a graceful shutdown.
var shutdownPingData = [8]byte{'h', '2', 'r', 'p', 'c', 'b', 'y', 'e'}

// Conn is one HTTP/2 connection carrying many streams. A goroutine reads
// frames and dispatches them; writes happen on the goroutines of the
// streams, batched by a frame.Writer.
//
// Lock order: the writer's lock (frame.Writer Start to Finish) may be
// taken before c.mu, never after it: a goroutine holding c.mu does not
// call Start. Stream state lives under c.mu; the HPACK encoder and the
// next stream ID under the writer's lock.
//
// On a server each accepted stream is owned by one handler run: the
// handler (the channel layer's call) from the moment it starts, then
// handlerDone, which resets what the handler left open. At most
// MaxConcurrentStreams handlers run at once, counting those whose streams
// the peer has already reset; streams accepted beyond that wait in a
// bounded queue and run when a handler returns, or are dropped unrun if
// the peer resets them first.
type Conn struct {
	nc      net.Conn
	role    Role
	cfg     Config
	handler Handler

	// Owned by the reading goroutine.
	r      *frame.Reader
	dec    *hpack.Decoder
	fields []hpack.HeaderField
	block  headerBlock

	// Guarded by the writer's lock (between w.Start and w.Finish), which
	// keeps HPACK state and stream IDs in wire order.
	w      *frame.Writer
	enc    *hpack.Encoder
	hbuf   []byte
	nextID uint32

	mu         sync.Mutex
	sendCond   sync.Cond // connection send window, stream quota
	streams    map[uint32]*Stream
	peer       frame.Settings
	pending    []frame.Settings // sent, not yet acknowledged
	sendWin    frame.SendWindow
	recvWin    frame.RecvWindow
	bdp        *frame.BDPEstimator
	streamWin  uint32 // receive window of new streams
	lastPeerID uint32 // highest stream ID the peer opened
	maxLocalID uint32 // highest stream ID we opened
	closed     closedStreams
	nLocal     uint32       // open streams we initiated
	nPeer      uint32       // open streams the peer initiated
	nActive    atomic.Int32 // nLocal+nPeer, read without c.mu by the writer's hint
	peerSeen   bool         // the peer's first SETTINGS arrived
	goAwaySent bool
	goAwayID   uint32
	goAway     *GoAwayError
	draining   bool
	err        error
	done       chan struct{}
	timer      *time.Timer
	wg         sync.WaitGroup

	handlers int       // handler goroutines running (server)
	queued   []*Stream // accepted streams waiting for a handler (server)
	over     overhead  // frames without progress (Config.OverheadBudget)
	blocked  int64     // bytes held by writers waiting for window

	dataWrites   atomic.Uint64 // WriteData calls that sent bytes
	pingDataMark uint64        // dataWrites at the last PING counted; reader's
	halfClosed   bool          // our side ended after a graceful close
	drainCh      chan struct{} // closed once draining; made by Draining
	drainFlag    atomic.Bool   // draining, for readers without c.mu
	failed       atomic.Bool   // err is set; read by the reader per frame
	ka           keepalive     // keepalive, connection age and ping policy (keepalive.go)
}

// headerBlock is the state of a header block spread over HEADERS and
// CONTINUATION frames.
type headerBlock struct {
	streamID  uint32
	endStream bool
	reset     frame.ErrCode // a stream error found in HEADERS, raised once the block is decoded
	hasReset  bool
}

// NewServerConn starts serving nc as a server: it sends our SETTINGS and
// reads the client preface and frames on a new goroutine, calling h on a
// new goroutine for every stream. It returns at once.
func NewServerConn(nc net.Conn, cfg *Config, h Handler) *Conn {
	c := newConn(nc, Server, cfg)
	c.handler = h
	c.start(nil)
	if err := cfg.Validate(); err != nil {
		c.fail(&frame.ConnError{Code: frame.ErrCodeInternal, Reason: err.Error()}, false)
	}
	return c
}

// NewClientConn starts a client connection on nc (already connected; for
// TLS, already through the handshake with ALPN "h2"): it sends the preface
// and our SETTINGS and reads frames on a new goroutine.
func NewClientConn(nc net.Conn, cfg *Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		nc.Close()
		return nil, err
	}
	c := newConn(nc, Client, cfg)
	c.nextID = 1
	if err := c.start([]byte(frame.ClientPreface)); err != nil {
		return nil, err
	}
	return c, nil
}

func newConn(nc net.Conn, role Role, cfg *Config) *Conn {
	conf := cfg.withDefaults()
	c := &Conn{
		nc:        nc,
		role:      role,
		cfg:       conf,
		r:         frame.NewReader(nc),
		dec:       hpack.NewDecoder(frame.DefaultHeaderTableSize, conf.MaxHeaderListSize),
		w:         frame.NewWriter(nc),
		enc:       hpack.NewEncoder(),
		streams:   make(map[uint32]*Stream),
		peer:      frame.DefaultSettings(),
		sendWin:   frame.NewSendWindow(frame.DefaultWindowSize),
		recvWin:   frame.NewRecvWindow(frame.DefaultWindowSize),
		streamWin: conf.InitialWindowSize,
		done:      make(chan struct{}),
	}
	c.sendCond.L = &c.mu
	if conf.OverheadBudget > 0 {
		c.over.budget = float64(conf.OverheadBudget)
	}
	c.r.SetMaxFrameSize(conf.MaxFrameSize)
	if conf.ReadBufferSize > 0 {
		c.r.SetReadBufferSize(conf.ReadBufferSize)
	}
	if conf.WriteBufferSize > 0 {
		c.w.SetLimits(conf.WriteBufferSize, max(frame.DefaultMaxQueued, 4*conf.WriteBufferSize))
	}
	// With other streams active, a flushing goroutine yields once so their
	// frames join its write call: fewer syscalls under load, no added
	// latency for a lone stream.
	c.w.SetCoalesce(func() bool { return c.nActive.Load() > 1 })
	if !conf.DisableBDP {
		c.bdp = frame.NewBDPEstimator(max(conf.InitialWindowSize, conf.InitialConnWindowSize))
	}
	return c
}

// start sends the preface (if any), our SETTINGS and the connection window
// increment, arms the SETTINGS timeout, and starts the reading goroutine.
func (c *Conn) start(preface []byte) error {
	ours := c.cfg.settings()
	var params [8]frame.Setting
	buf := c.w.Start()
	buf = append(buf, preface...)
	buf = frame.AppendSettings(buf, ours.Diff(params[:0])...)
	if inc := c.recvWin.Grow(c.cfg.InitialConnWindowSize); inc > 0 {
		buf = frame.AppendWindowUpdate(buf, 0, inc)
	}
	c.mu.Lock() // the timer may fire, and read c.timer, at once
	c.pending = append(c.pending, ours)
	c.timer = time.AfterFunc(c.cfg.SettingsTimeout, c.settingsTimeout)
	c.mu.Unlock()
	c.startKeepalive()
	// Read before our first write finishes: on a synchronous transport
	// (net.Pipe) both ends write their preface at once and each write waits
	// for the other end to read. What the reader writes (a SETTINGS ACK)
	// queues behind our preface, since we hold the writer until Finish.
	c.wg.Add(1)
	go c.readLoop()
	err := c.w.Finish(buf, frame.Flush)
	if err != nil {
		c.fail(err, false)
		return c.Err()
	}
	return nil
}

func (c *Conn) settingsTimeout() {
	c.mu.Lock()
	waiting := len(c.pending) > 0 && c.err == nil
	c.mu.Unlock()
	if waiting {
		c.fail(&frame.ConnError{Code: frame.ErrCodeSettingsTimeout, Reason: "SETTINGS not acknowledged in time"}, false)
	}
}

// Done is closed once the connection has closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Draining returns a channel closed once the connection takes no new
// streams: a GOAWAY was received or sent, stream IDs ran out, or it
// closed. Streams already open may go on.
func (c *Conn) Draining() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.drainCh == nil {
		c.drainCh = make(chan struct{})
		if c.draining || c.err != nil {
			close(c.drainCh)
		}
	}
	return c.drainCh
}

// IsDraining reports, without taking a lock, whether the connection
// takes no new streams (see Draining).
func (c *Conn) IsDraining() bool { return c.drainFlag.Load() }

func (c *Conn) drainLocked() {
	if !c.draining {
		c.draining = true
		c.drainFlag.Store(true)
		if c.drainCh != nil {
			close(c.drainCh)
		}
	}
}

// Err returns why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Wait blocks until the reading goroutine and every handler have returned.
func (c *Conn) Wait() { c.wg.Wait() }

// Close closes the connection at once: GOAWAY, then every stream fails.
func (c *Conn) Close() error {
	c.fail(&frame.ConnError{Code: frame.ErrCodeNo, Reason: "closed"}, false)
	return nil
}

// Shutdown closes the connection gracefully. A server first announces
// GOAWAY with the largest stream ID, then after one round trip the real
// last stream ID (RFC 9113 §6.8), so no stream in flight is lost; a client
// announces GOAWAY and opens no more streams. Streams in progress finish;
// when none is left, or ctx ends, the connection closes.
func (c *Conn) Shutdown(ctx context.Context) error { return c.shutdown(ctx, nil) }

// shutdown is Shutdown with the debug data of its GOAWAY frames.
func (c *Conn) shutdown(ctx context.Context, debug []byte) error {
	c.mu.Lock()
	if c.err != nil || c.goAwaySent {
		c.mu.Unlock()
	} else {
		c.goAwaySent = true
		c.drainLocked()
		c.ka.debug = debug
		last := uint32(0)
		if c.role == Server {
			last = maxStreamID
		}
		c.goAwayID = last
		c.mu.Unlock()
		buf := c.w.Start()
		buf = frame.AppendGoAway(buf, last, frame.ErrCodeNo, debug)
		if c.role == Server {
			buf = frame.AppendPing(buf, false, shutdownPingData)
		}
		if err := c.w.Finish(buf, frame.Flush); err != nil {
			c.fail(err, false)
		}
	}
	c.mu.Lock()
	for c.err == nil && (len(c.streams) > 0 || (c.role == Server && c.goAwayID == maxStreamID)) {
		if ctx.Err() != nil {
			break
		}
		stop := context.AfterFunc(ctx, func() {
			c.mu.Lock()
			c.sendCond.Broadcast()
			c.mu.Unlock()
		})
		c.sendCond.Wait()
		stop()
	}
	c.mu.Unlock()
	if ctx.Err() == nil {
		c.closeWhenWritten()
	} else {
		c.Close()
	}
	return ctx.Err()
}

// closeWhenWritten closes the connection once the frames already queued
// (the last frames of the streams that just finished) have been written.
// Close alone would cut a write in progress on another goroutine and lose
// them. Where the transport can half-close (TCP, TLS), it ends only our
// side, and the reader goes on until the peer closes its own or
// lingerTimeout passes: closing at once while the peer's last frames are
// unread makes TCP reset the connection, and the peer's kernel may then
// drop the frames we wrote last.
func (c *Conn) closeWhenWritten() {
	c.awaitWriter()
	type closeWriter interface{ CloseWrite() error }
	cw, ok := c.nc.(closeWriter)
	if !ok {
		c.Close()
		return
	}
	c.mu.Lock()
	if c.err != nil || c.halfClosed {
		c.mu.Unlock()
		return
	}
	c.halfClosed = true
	c.mu.Unlock()
	if cw.CloseWrite() != nil {
		c.Close()
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
}

// lingerTimeout bounds how long a connection closed gracefully waits for
// the peer to close its side.
const lingerTimeout = time.Second

// NumStreams reports the number of open streams.
func (c *Conn) NumStreams() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams)
}

// PeerSettings returns the settings the peer has announced.
func (c *Conn) PeerSettings() frame.Settings {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peer
}

// Writer returns the connection's frame writer; for diagnostics.
func (c *Conn) Writer() *frame.Writer { return c.w }

func (c *Conn) readLoop() {
	defer c.wg.Done()
	err := c.readFrames()
	if errors.Is(err, frame.ErrWriteQueueFull) {
		// The peer makes us answer (SETTINGS and PING acknowledgements,
		// resets) faster than it reads the answers.
		err = &frame.ConnError{Code: frame.ErrCodeEnhanceYourCalm, Reason: "peer does not read what it asks for"}
	}
	c.fail(err, true)
}

func (c *Conn) readFrames() error {
	if c.role == Server {
		if err := c.r.ReadPreface(); err != nil {
			if errors.Is(err, frame.ErrBadPreface) {
				return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "invalid connection preface"}
			}
			return err
		}
	}
	first := true
	for {
		f, err := c.r.ReadFrame()
		if c.failed.Load() {
			// Closed while this frame was read: its streams are gone, and
			// answering for them (a RST_STREAM for DATA on a stream the
			// failure reset) would tell the peer something false.
			return ErrConnClosed
		}
		if err == nil && first {
			// RFC 9113 §3.4: the preface ends with a SETTINGS frame.
			if f.Type != frame.TypeSettings || f.IsAck() {
				return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "first frame is " + f.Type.String() + ", not SETTINGS"}
			}
			first = false
		}
		if err == nil {
			c.noteRead()
			err = c.handle(f)
		} else if se, ok := err.(*frame.StreamError); ok && f != nil {
			err = c.handleInvalid(f, se)
		}
		if err != nil {
			var se *frame.StreamError
			if errors.As(err, &se) {
				c.resetStream(se.StreamID, se.Code)
				if err := c.overhead("stream errors"); err != nil {
					return err
				}
				continue
			}
			return err
		}
	}
}

// handleInvalid deals with a frame that carries a stream error: a HEADERS
// frame still has its header block decoded, to keep HPACK in sync.
func (c *Conn) handleInvalid(f *frame.Frame, se *frame.StreamError) error {
	if f.Type == frame.TypeHeaders {
		c.block = headerBlock{streamID: f.StreamID, endStream: f.EndStream(), reset: se.Code, hasReset: true}
		return c.headerFragment(f.Data, f.EndHeaders(), true)
	}
	if c.isIdle(f.StreamID) && f.Type == frame.TypeWindowUpdate {
		return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "WINDOW_UPDATE on idle stream"}
	}
	return se
}

func (c *Conn) handle(f *frame.Frame) error {
	switch f.Type {
	case frame.TypeData:
		return c.onData(f)
	case frame.TypeHeaders:
		c.block = headerBlock{streamID: f.StreamID, endStream: f.EndStream()}
		return c.headerFragment(f.Data, f.EndHeaders(), true)
	case frame.TypeContinuation:
		if len(f.Data) == 0 && !f.EndHeaders() {
			if err := c.overhead("empty CONTINUATION frames"); err != nil {
				return err
			}
		}
		return c.headerFragment(f.Data, f.EndHeaders(), false)
	case frame.TypePriority:
		// Deprecated (RFC 9113 §5.3.2); checked by Parse, else ignored.
		return c.overhead("PRIORITY frames")
	case frame.TypeRSTStream:
		return c.onRSTStream(f)
	case frame.TypeSettings:
		return c.onSettings(f)
	case frame.TypePushPromise:
		// A client never pushes; we disable push, so a server may not either.
		return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "PUSH_PROMISE received with push disabled"}
	case frame.TypePing:
		return c.onPing(f)
	case frame.TypeGoAway:
		return c.onGoAway(f)
	case frame.TypeWindowUpdate:
		return c.onWindowUpdate(f)
	}
	// Unknown frame types are ignored (RFC 9113 §5.5), but not for free.
	return c.overhead("frames of unknown types")
}

// overhead counts one frame that makes no progress, and returns the
// connection error that ends a peer over its budget. Reader only.
func (c *Conn) overhead(what string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.overheadLocked(what)
}

func (c *Conn) overheadLocked(what string) error { return c.overheadNLocked(what, 1) }

// overheadNLocked counts n frames' worth of overhead.
func (c *Conn) overheadNLocked(what string, n float64) error {
	if c.over.add(time.Now(), n) {
		return &frame.ConnError{Code: frame.ErrCodeEnhanceYourCalm, Reason: "too many " + what}
	}
	return nil
}

// isIdle reports whether id names a stream that has never been opened.
func (c *Conn) isIdle(id uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.isIdleLocked(id)
}

func (c *Conn) isIdleLocked(id uint32) bool {
	if id == 0 {
		return false
	}
	local := (id%2 == 1) == (c.role == Client)
	if local {
		return id > c.maxLocalID
	}
	return id > c.lastPeerID
}

func (c *Conn) onRSTStream(f *frame.Frame) error {
	c.mu.Lock()
	if c.isIdleLocked(f.StreamID) {
		c.mu.Unlock()
		return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "RST_STREAM on idle stream"}
	}
	s := c.streams[f.StreamID]
	if s == nil || !s.localDone && !c.isLocal(s.id) {
		// A stream reset before we answered it, or one already gone:
		// rapid reset (CVE-2023-44487) is made of these.
		if err := c.overheadLocked("streams reset early"); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	var inc uint32
	switch {
	case s == nil:
	case f.ErrCode == frame.ErrCodeNo && s.remoteDone:
		// The peer's side is complete and it asks us to stop sending
		// ours; what it sent stays readable (RFC 9113 §8.1).
		s.sendErr = &ResetError{Code: f.ErrCode, Remote: true}
		s.cond.Broadcast()
		c.sendCond.Broadcast()
		if !s.closed {
			c.closeLocked(s, closedByPeer)
		}
	default:
		inc = s.resetLocked(&ResetError{Code: f.ErrCode, Remote: true})
	}
	c.mu.Unlock()
	c.queueWindowUpdate(0, inc, frame.FlushAsync)
	return nil
}

func (c *Conn) onWindowUpdate(f *frame.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.StreamID == 0 {
		if !c.sendWin.Add(f.Increment) {
			return &frame.ConnError{Code: frame.ErrCodeFlowControl, Reason: "connection window above 2^31-1"}
		}
		c.sendCond.Broadcast()
		return nil
	}
	if c.isIdleLocked(f.StreamID) {
		return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "WINDOW_UPDATE on idle stream"}
	}
	s := c.streams[f.StreamID]
	if s == nil {
		return nil // closed: WINDOW_UPDATE may arrive after END_STREAM
	}
	if !s.sendWin.Add(f.Increment) {
		return &frame.StreamError{StreamID: f.StreamID, Code: frame.ErrCodeFlowControl, Reason: "stream window above 2^31-1"}
	}
	s.cond.Broadcast()
	return nil
}

func (c *Conn) onSettings(f *frame.Frame) error {
	if f.IsAck() {
		c.mu.Lock()
		if len(c.pending) == 0 {
			c.mu.Unlock()
			return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "SETTINGS ACK without SETTINGS"}
		}
		ours := c.pending[0]
		c.pending = c.pending[1:]
		if len(c.pending) == 0 && c.timer != nil {
			c.timer.Stop()
		}
		c.mu.Unlock()
		c.dec.SetAllowedMaxDynamicTableSize(ours.HeaderTableSize)
		return nil
	}
	c.mu.Lock()
	if err := c.overheadLocked("SETTINGS frames"); err != nil {
		c.mu.Unlock()
		return err
	}
	tableSize, tableChanged := uint32(0), false
	for i := range f.NumSettings() {
		p := f.Setting(i)
		switch p.ID {
		case frame.SettingInitialWindowSize:
			// RFC 9113 §6.9.2: the change applies to every open stream.
			delta := int64(p.Val) - int64(c.peer.InitialWindowSize)
			for _, s := range c.streams {
				if !s.sendWin.Adjust(delta) {
					c.mu.Unlock()
					return &frame.ConnError{Code: frame.ErrCodeFlowControl, Reason: "SETTINGS_INITIAL_WINDOW_SIZE makes a stream window exceed 2^31-1"}
				}
				s.cond.Broadcast()
			}
		case frame.SettingHeaderTableSize:
			tableSize, tableChanged = p.Val, true
		}
		c.peer.Apply(p)
	}
	c.peerSeen = true
	c.sendCond.Broadcast()
	c.mu.Unlock()
	buf := c.w.Start()
	if tableChanged {
		c.enc.SetMaxDynamicTableSizeLimit(tableSize)
	}
	buf = frame.AppendSettingsAck(buf)
	return c.w.Finish(buf, frame.FlushAsync)
}

func (c *Conn) onPing(f *frame.Frame) error {
	if !f.IsAck() {
		if err := c.pingPolicy(); err != nil {
			return err
		}
		// A PING while we send data is the peer measuring its bandwidth
		// (BDP estimation); one while nothing flows is overhead.
		if mark := c.dataWrites.Load(); mark == c.pingDataMark {
			if err := c.overhead("PING frames"); err != nil {
				return err
			}
		} else {
			c.pingDataMark = mark
		}
		buf := c.w.Start()
		buf = frame.AppendPing(buf, true, f.PingData)
		return c.w.Finish(buf, frame.FlushAsync)
	}
	switch f.PingData {
	case frame.BDPPingData:
		return c.onBDPAck()
	case shutdownPingData:
		c.mu.Lock()
		if c.role != Server || c.goAwayID != maxStreamID || c.err != nil {
			c.mu.Unlock()
			return nil
		}
		c.goAwayID = c.lastPeerID
		last, debug := c.lastPeerID, c.ka.debug
		c.sendCond.Broadcast()
		c.mu.Unlock()
		buf := c.w.Start()
		buf = frame.AppendGoAway(buf, last, frame.ErrCodeNo, debug)
		return c.w.Finish(buf, frame.FlushAsync)
	}
	return nil
}

// onBDPAck grows the receive windows when the estimator says so: the
// connection window by WINDOW_UPDATE, stream windows by a new
// SETTINGS_INITIAL_WINDOW_SIZE.
func (c *Conn) onBDPAck() error {
	c.mu.Lock()
	if c.bdp == nil {
		c.mu.Unlock()
		return nil
	}
	size, grow := c.bdp.OnPingAck(time.Now())
	if !grow {
		c.mu.Unlock()
		return nil
	}
	connInc := c.recvWin.Grow(size)
	var setting []frame.Setting
	if size > c.streamWin {
		delta := int64(size) - int64(c.streamWin)
		c.streamWin = size
		for _, s := range c.streams {
			s.recvWin.SetInitial(delta)
		}
		next := c.cfg.settings()
		next.InitialWindowSize = size
		c.pending = append(c.pending, next)
		setting = []frame.Setting{{ID: frame.SettingInitialWindowSize, Val: size}}
	}
	c.mu.Unlock()
	buf := c.w.Start()
	if setting != nil {
		buf = frame.AppendSettings(buf, setting...)
	}
	if connInc > 0 {
		buf = frame.AppendWindowUpdate(buf, 0, connInc)
	}
	return c.w.Finish(buf, frame.FlushAsync)
}

func (c *Conn) onGoAway(f *frame.Frame) error {
	c.mu.Lock()
	c.goAway = &GoAwayError{LastStreamID: f.LastStreamID, Code: f.ErrCode, Debug: string(f.Data)}
	c.logGoAway(c.goAway)
	c.drainLocked()
	var incs uint32
	for id, s := range c.streams {
		if c.isLocal(id) && id > f.LastStreamID {
			e := *c.goAway
			e.Unprocessed = true
			incs += s.resetLocked(&e)
		}
	}
	idle := len(c.streams) == 0
	c.sendCond.Broadcast()
	c.mu.Unlock()
	c.queueWindowUpdate(0, incs, frame.FlushAsync)
	if idle && c.role == Client {
		return io.EOF // nothing left to do on this connection
	}
	return nil
}

func (c *Conn) isLocal(id uint32) bool { return (id%2 == 1) == (c.role == Client) }

// queueWindowUpdate queues WINDOW_UPDATE frames for a stream and/or the
// connection; zero increments are skipped.
func (c *Conn) queueWindowUpdate(streamID, streamInc uint32, mode frame.FlushMode) {
	c.queueWindowUpdates(streamID, streamInc, 0, mode)
}

func (c *Conn) queueWindowUpdates(streamID, streamInc, connInc uint32, mode frame.FlushMode) {
	if streamInc == 0 && connInc == 0 {
		return
	}
	if streamID == 0 {
		connInc += streamInc
		streamInc = 0
	}
	buf := c.w.Start()
	if connInc > 0 {
		buf = frame.AppendWindowUpdate(buf, 0, connInc)
	}
	if streamInc > 0 {
		buf = frame.AppendWindowUpdate(buf, streamID, streamInc)
	}
	c.w.Finish(buf, mode)
}

// resetStream sends RST_STREAM for a stream error found while reading.
func (c *Conn) resetStream(id uint32, code frame.ErrCode) {
	c.mu.Lock()
	var inc uint32
	if s := c.streams[id]; s != nil {
		inc = s.resetLocked(&ResetError{Code: code})
	} else {
		c.closed.add(id, closedByUs)
	}
	c.mu.Unlock()
	buf := c.w.Start()
	buf = frame.AppendRSTStream(buf, id, code)
	if inc > 0 {
		buf = frame.AppendWindowUpdate(buf, 0, inc)
	}
	c.w.Finish(buf, frame.FlushAsync)
}

// fail closes the connection with err, once. A protocol error of ours is
// announced with GOAWAY before the socket closes.
func (c *Conn) fail(err error, fromReader bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		if fromReader {
			c.r.Close() // give the read buffer back to the pool
		} else {
			c.nc.Close()
		}
		return
	}
	ce := &ConnError{Err: err}
	var fe *frame.ConnError
	sendGoAway := false
	if errors.As(err, &fe) {
		ce = &ConnError{Code: fe.Code, Reason: fe.Reason}
		sendGoAway = true
	} else if err == io.EOF && c.draining {
		ce = &ConnError{Code: frame.ErrCodeNo, Remote: true, Reason: "peer closed after GOAWAY"}
	}
	c.err = ce
	c.failed.Store(true)
	if sendGoAway || ce.Err != nil && ce.Err != io.EOF && !errors.Is(ce.Err, net.ErrClosed) {
		logx.Log(slog.LevelWarn, "h2rpc: connection failed", slog.String("role", c.roleName()), slog.String("remote", c.remoteName()), slog.Any("err", ce))
	}
	if c.goAway != nil && ce.Err != nil {
		ce.Remote = true
	}
	last := c.lastPeerID
	if c.goAwaySent && c.goAwayID < last {
		last = c.goAwayID
	}
	var streamErr error = ce
	if c.goAway != nil {
		streamErr = c.goAway
	}
	for _, s := range c.streams {
		s.resetLocked(streamErr)
	}
	c.drainLocked()
	if c.timer != nil {
		c.timer.Stop()
	}
	close(c.done)
	c.sendCond.Broadcast()
	c.mu.Unlock()
	c.stopKeepalive()

	if sendGoAway {
		timeout := c.cfg.WriteTimeout
		if fe.Code == frame.ErrCodeEnhanceYourCalm {
			// An abusive peer: what is queued for it (acknowledgements,
			// resets, replies) is dropped so the GOAWAY leaves first, and
			// it gets little time to read it.
			c.w.Discard()
			timeout = min(timeout, time.Second)
		}
		c.nc.SetWriteDeadline(time.Now().Add(timeout))
		buf := c.w.Start()
		buf = frame.AppendGoAway(buf, last, fe.Code, []byte(fe.Reason))
		c.w.Finish(buf, frame.Flush)
		if fe.Code != frame.ErrCodeNo {
			c.w.WaitIdle(time.Now().Add(timeout))
		}
	}
	c.w.Fail(ErrConnClosed)
	if fromReader && sendGoAway && fe.Code != frame.ErrCodeNo {
		lingerClose(c.nc)
	}
	c.nc.Close()
	if fromReader {
		c.r.Close()
	}
}

// awaitWriter waits until the writer is idle, failed, or past the write
// deadline. Finish returns at once when another goroutine is writing, and
// closing the socket under that write would lose the GOAWAY just queued
// behind it; RFC 9113 §5.4.1 asks for GOAWAY before a connection error
// closes the connection, or a graceful end closes it. Close stays immediate.
func (c *Conn) awaitWriter() {
	c.w.WaitIdle(time.Now().Add(c.cfg.WriteTimeout))
}

// lingerClose half-closes a TCP connection and reads what the peer still
// sends, for a short while, so that our GOAWAY is not lost to a reset
// caused by unread data.
func lingerClose(nc net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := nc.(closeWriter)
	if !ok {
		return
	}
	cw.CloseWrite()
	nc.SetReadDeadline(time.Now().Add(time.Second))
	var scratch [512]byte
	for total := 0; total < 1<<20; {
		n, err := nc.Read(scratch[:])
		total += n
		if err != nil {
			return
		}
	}
}

// closedHow says how a stream was closed, which decides what RFC 9113 §5.1
// asks for frames that still arrive on it.
type closedHow uint8

const (
	closedUnknown  closedHow = iota // not remembered
	closedNormally                  // END_STREAM both ways: frames are a connection error
	closedByPeer                    // the peer's RST_STREAM: frames are a stream error
	closedByUs                      // our RST_STREAM: frames in flight are ignored
)

// closedStreams remembers how recently closed streams ended.
type closedStreams struct {
	ids  [64]uint32
	how  [64]closedHow
	next int
}

func (c *closedStreams) add(id uint32, how closedHow) {
	c.ids[c.next] = id
	c.how[c.next] = how
	c.next = (c.next + 1) % len(c.ids)
}

// lookup returns how id was closed, or closedUnknown.
func (c *closedStreams) lookup(id uint32) closedHow {
	for i, v := range c.ids {
		if v == id && id != 0 {
			return c.how[i]
		}
	}
	return closedUnknown
}
