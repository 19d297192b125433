package stream

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
)

// Stream is one HTTP/2 stream. Reads (ReadHeader, Read, Trailer) belong to
// one goroutine and writes (WriteHeaders, WriteData) to one goroutine, which
// may be a different one; Reset may be called from any goroutine.
type Stream struct {
	c  *Conn
	id uint32

	// Guarded by c.mu.
	cond          sync.Cond // data, headers, window or state changed
	buf           dataBuffer
	recvWin       frame.RecvWindow
	sendWin       frame.SendWindow
	header        []hpack.HeaderField
	trailer       []hpack.HeaderField
	req           hpack.RequestHead
	status        int
	contentLength int64
	dataRecv      int64
	gotHeader     bool
	trailersOnly  bool
	remoteDone    bool // END_STREAM received
	localDone     bool // END_STREAM sent (or queued)
	closed        bool // removed from the connection
	err           error
	failed        atomic.Bool // err is set; read without c.mu by writers
	sendErr       error       // the peer stopped our side after completing its own
	done          chan struct{}

	// Received header lists are kept here when they fit (keepFields).
	fieldSpace [16]hpack.HeaderField
	fieldsUsed int
}

func (c *Conn) newStreamLocked(id uint32) *Stream {
	s := &Stream{
		c:             c,
		id:            id,
		recvWin:       frame.NewRecvWindow(c.streamWin),
		sendWin:       frame.NewSendWindow(c.peer.InitialWindowSize),
		contentLength: -1,
	}
	s.cond.L = &c.mu
	return s
}

// NewStream opens a client stream by sending its request headers. It waits
// while the peer's SETTINGS_MAX_CONCURRENT_STREAMS is reached, until ctx
// ends. With endStream the request has no body.
func (c *Conn) NewStream(ctx context.Context, fields []hpack.HeaderField, endStream bool) (*Stream, error) {
	return c.OpenStream(ctx, fields, endStream, true)
}

// OpenStream is NewStream with a choice of flushing: with flush false the
// HEADERS frame waits for the next write with flush (typically the
// request's first DATA), so a short request leaves in one write call.
func (c *Conn) OpenStream(ctx context.Context, fields []hpack.HeaderField, endStream, flush bool) (*Stream, error) {
	if c.role != Client {
		return nil, ErrNotClient
	}
	c.mu.Lock()
	var stop func() bool
	// Until the server's SETTINGS arrive its limit is unknown, and streams
	// over it would be refused (RFC 9113 §5.1.2); they are its preface, so
	// the wait is one round trip at most, and only on a new connection.
	for c.err == nil && !c.draining && (!c.peerSeen || c.nLocal >= c.peer.MaxConcurrentStreams) {
		if err := ctx.Err(); err != nil {
			c.mu.Unlock()
			if stop != nil {
				stop()
			}
			return nil, err
		}
		if stop == nil {
			stop = context.AfterFunc(ctx, func() {
				c.mu.Lock()
				c.sendCond.Broadcast()
				c.mu.Unlock()
			})
		}
		c.sendCond.Wait()
	}
	if stop != nil {
		stop()
	}
	if c.err != nil || c.draining {
		err := c.err
		if err == nil {
			err = ErrConnDraining
		}
		c.mu.Unlock()
		return nil, err
	}
	if hpack.HeaderListSize(fields) > c.peer.MaxHeaderListSize {
		c.mu.Unlock()
		return nil, ErrHeaderListTooLarge
	}
	c.nLocal++
	c.mu.Unlock()

	buf := c.w.Start()
	id := c.nextID
	c.mu.Lock()
	if id > maxStreamID || c.err != nil || c.draining {
		// Stream IDs ran out (RFC 9113 §5.1.1): the connection must be
		// replaced; streams in flight finish.
		c.drainLocked()
		c.nLocal--
		err := c.err
		c.sendCond.Broadcast()
		c.mu.Unlock()
		c.w.Finish(buf, frame.NoFlush)
		if err == nil {
			err = ErrConnDraining
		}
		return nil, err
	}
	c.nextID += 2
	s := c.newStreamLocked(id)
	s.localDone = endStream
	c.streams[id] = s
	c.nActive.Add(1)
	c.maxLocalID = id
	maxFrame := c.peer.MaxFrameSize
	c.mu.Unlock()
	c.hbuf = c.enc.AppendBlock(c.hbuf[:0], fields)
	buf = frame.AppendHeaders(buf, id, endStream, c.hbuf, maxFrame)
	c.trimHBuf()
	if err := c.w.Finish(buf, flushMode(flush)); err != nil {
		return nil, err
	}
	return s, nil
}

// trimHBuf drops a header scratch buffer grown by an unusually large block,
// so an idle connection does not keep it. Called under the writer's lock.
func (c *Conn) trimHBuf() {
	if cap(c.hbuf) > 4<<10 {
		c.hbuf = nil
	}
}

// ID returns the stream identifier.
func (s *Stream) ID() uint32 { return s.id }

// Conn returns the connection that carries the stream.
func (s *Stream) Conn() *Conn { return s.c }

// Request returns the pseudo-headers of the request (server side).
func (s *Stream) Request() hpack.RequestHead { return s.req }

// Header returns the request headers on the server side. On the client it
// waits for the response headers and returns them (with their HTTP status),
// or the error that ended the stream first.
func (s *Stream) Header() ([]hpack.HeaderField, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	for !s.gotHeader && s.err == nil {
		s.cond.Wait()
	}
	if !s.gotHeader {
		return nil, s.err
	}
	return s.header, nil
}

// Status returns the HTTP status of the response, once Header has returned.
func (s *Stream) Status() int {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.status
}

// TrailersOnly reports whether the response was a single HEADERS frame that
// ended the stream; its header list is then also its trailers.
func (s *Stream) TrailersOnly() bool {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.trailersOnly
}

// Read reads DATA of the stream. It returns io.EOF once the peer has ended
// the stream and everything has been read, or the error that ended it.
func (s *Stream) Read(p []byte) (int, error) {
	c := s.c
	c.mu.Lock()
	for s.buf.Len() == 0 {
		if s.err != nil {
			err := s.err
			c.mu.Unlock()
			return 0, err
		}
		if s.remoteDone {
			c.mu.Unlock()
			return 0, io.EOF
		}
		if len(p) == 0 {
			c.mu.Unlock()
			return 0, nil
		}
		s.cond.Wait()
	}
	n := s.buf.Read(p)
	var streamInc uint32
	if !s.remoteDone {
		streamInc = s.recvWin.Consume(int64(n))
	}
	connInc := c.recvWin.Consume(int64(n))
	c.mu.Unlock()
	c.queueWindowUpdates(s.id, streamInc, connInc, frame.Flush)
	return n, nil
}

// Buffered returns the number of received bytes not yet read.
func (s *Stream) Buffered() int {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.buf.Len()
}

// Trailer returns the trailers, once Read has returned io.EOF; for a
// trailers-only response, the response headers.
func (s *Stream) Trailer() []hpack.HeaderField {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.trailersOnly {
		return s.header
	}
	return s.trailer
}

// WriteHeaders sends a header block: response headers, or trailers when
// endStream is set. With flush false, the frames wait for the next flush
// (a later write with flush, or any other stream's).
func (s *Stream) WriteHeaders(fields []hpack.HeaderField, endStream, flush bool) error {
	c := s.c
	// A stream that has been reset fails here, before it queues on the
	// writer behind streams still alive (under rapid reset, thousands of
	// them); one still alive pays no lock for the check.
	if s.failed.Load() {
		return s.Err()
	}
	buf := c.w.Start()
	c.mu.Lock()
	if err := s.writableLocked(); err != nil {
		c.mu.Unlock()
		c.w.Finish(buf, frame.NoFlush)
		return err
	}
	if hpack.HeaderListSize(fields) > c.peer.MaxHeaderListSize {
		c.mu.Unlock()
		c.w.Finish(buf, frame.NoFlush)
		return ErrHeaderListTooLarge
	}
	maxFrame := c.peer.MaxFrameSize
	if endStream {
		c.endLocalLocked(s)
	}
	c.mu.Unlock()
	c.hbuf = c.enc.AppendBlock(c.hbuf[:0], fields)
	buf = frame.AppendHeaders(buf, s.id, endStream, c.hbuf, maxFrame)
	c.trimHBuf()
	return c.w.Finish(buf, flushMode(flush))
}

func flushMode(flush bool) frame.FlushMode {
	if flush {
		return frame.Flush
	}
	return frame.NoFlush
}

// endLocalLocked records that our side of s is complete: work done, which
// earns back overhead allowance (Config.OverheadBudget).
func (c *Conn) endLocalLocked(s *Stream) {
	s.localDone = true
	c.over.credit()
	c.maybeCloseLocked(s)
}

func (s *Stream) writableLocked() error {
	if s.err != nil {
		return s.err
	}
	if s.sendErr != nil {
		return s.sendErr
	}
	if s.localDone {
		return ErrStreamClosed
	}
	return nil
}

// maxDataBatch bounds the DATA queued in one batch of frames, so a large
// write does not copy more than this into the connection's queue at once.
const maxDataBatch = 256 << 10

// WriteData sends p as DATA, in as many frames as the peer's frame size and
// flow-control windows require, waiting for window as needed. All the
// frames the windows allow (up to 256 KiB) leave in one write call. With
// endStream the last frame ends our side of the stream. It returns early
// with the stream's error if the stream is reset meanwhile.
func (s *Stream) WriteData(p []byte, endStream, flush bool) error {
	c := s.c
	var held int64 // bytes of p counted in the blocked-send budgets
	defer func() {
		if held > 0 {
			c.releaseBlocked(held)
		}
	}()
	for {
		c.mu.Lock()
		var n int64
		for {
			if err := s.writableLocked(); err != nil {
				c.mu.Unlock()
				return err
			}
			if c.err != nil {
				err := c.err
				c.mu.Unlock()
				return err
			}
			n = min(int64(len(p)), s.sendWin.Available(), c.sendWin.Available(), maxDataBatch)
			if n > 0 || len(p) == 0 {
				break
			}
			if held == 0 {
				// About to wait for window while holding p.
				if !c.holdBlockedLocked(int64(len(p))) {
					// A peer that keeps asking for more than it reads is
					// overhead too, weighed by what it made us build: one
					// that goes on is closed, freeing all it pins.
					over := c.overheadNLocked("responses refused while the peer's window stays closed", 1+float64(len(p))/(16<<10))
					c.mu.Unlock()
					s.Reset(frame.ErrCodeEnhanceYourCalm)
					if over != nil {
						c.fail(over, false)
					}
					return ErrSendBudget
				}
				held = int64(len(p))
			}
			if s.sendWin.Available() == 0 {
				s.cond.Wait()
			} else {
				c.sendCond.Wait()
			}
		}
		s.sendWin.Take(n)
		c.sendWin.Take(n)
		last := n == int64(len(p))
		end := last && endStream
		if end {
			c.endLocalLocked(s)
		}
		maxFrame := int64(c.peer.MaxFrameSize)
		c.mu.Unlock()
		if n > 0 {
			c.dataWrites.Add(1)
		}
		buf := c.w.StartSize(int(n) + int(n/maxFrame+1)*frame.HeaderLen)
		chunk := p[:n]
		for {
			k := min(int64(len(chunk)), maxFrame)
			buf = frame.AppendData(buf, s.id, end && k == int64(len(chunk)), chunk[:k])
			chunk = chunk[k:]
			if len(chunk) == 0 {
				break
			}
		}
		mode := flushMode(flush)
		if !last {
			mode = frame.Flush // a partial write is waiting for window: send what we have
		}
		if err := c.w.Finish(buf, mode); err != nil {
			return err
		}
		p = p[n:]
		if last {
			return nil
		}
	}
}

// holdBlockedLocked counts n bytes held by a writer that waits for window
// against the connection's and the shared budget; false if either is
// spent. The first writer to wait on a connection passes its own budget
// whatever its size, so one message larger than the budget still goes.
func (c *Conn) holdBlockedLocked(n int64) bool {
	if lim := c.cfg.MaxBlockedSendBytes; lim > 0 && c.blocked > 0 && c.blocked+n > int64(lim) {
		return false
	}
	if b := c.cfg.SendBudget; b != nil && !b.take(n) {
		return false
	}
	c.blocked += n
	return true
}

func (c *Conn) releaseBlocked(n int64) {
	c.mu.Lock()
	c.blocked -= n
	c.mu.Unlock()
	if b := c.cfg.SendBudget; b != nil {
		b.give(n)
	}
}

// CloseSend ends our side of the stream with an empty DATA frame.
func (s *Stream) CloseSend() error { return s.WriteData(nil, true, true) }

// Reset ends the stream at once with RST_STREAM carrying code; pending
// reads and writes on it return a *ResetError.
func (s *Stream) Reset(code frame.ErrCode) {
	c := s.c
	c.mu.Lock()
	if s.closed {
		c.mu.Unlock()
		return
	}
	inc := s.resetLocked(&ResetError{Code: code})
	c.mu.Unlock()
	buf := c.w.Start()
	buf = frame.AppendRSTStream(buf, s.id, code)
	if inc > 0 {
		buf = frame.AppendWindowUpdate(buf, 0, inc)
	}
	c.w.Finish(buf, frame.Flush)
}

// Cancel resets the stream with CANCEL; it is Reset(frame.ErrCodeCancel)
// as a method value for context.AfterFunc. Like Reset, it does nothing on
// a stream that has already ended.
func (s *Stream) Cancel() { s.Reset(frame.ErrCodeCancel) }

// Done returns a channel closed when the stream has ended, normally or not.
func (s *Stream) Done() <-chan struct{} {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	if s.done == nil {
		s.done = make(chan struct{})
		if s.closed {
			close(s.done)
		}
	}
	return s.done
}

// Err returns the error that ended the stream abnormally, or nil.
func (s *Stream) Err() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.err
}

// resetLocked ends the stream with err, drops unread data and returns the
// connection window increment that the dropped bytes free.
func (s *Stream) resetLocked(err error) uint32 {
	c := s.c
	if s.err == nil {
		s.err = err
		s.failed.Store(true)
	}
	dropped := s.buf.Reset()
	s.cond.Broadcast()
	c.sendCond.Broadcast()
	if !s.closed {
		how := closedByUs
		if re, ok := err.(*ResetError); !ok || re.Remote {
			how = closedByPeer // reset by the peer, or the peer's GOAWAY
		}
		c.closeLocked(s, how)
	}
	if dropped > 0 {
		return c.recvWin.Consume(int64(dropped))
	}
	return 0
}

// maybeCloseLocked removes the stream from the connection once both sides
// have ended it (RFC 9113 §5.1 "closed"). Unread data stays readable.
func (c *Conn) maybeCloseLocked(s *Stream) {
	if s.localDone && s.remoteDone && !s.closed {
		c.closeLocked(s, closedNormally)
	}
}

func (c *Conn) closeLocked(s *Stream, how closedHow) {
	s.closed = true
	if c.streams[s.id] == s {
		delete(c.streams, s.id)
		if c.isLocal(s.id) {
			c.nLocal--
		} else {
			c.nPeer--
		}
	}
	c.nActive.Add(-1)
	c.closed.add(s.id, how)
	if s.done != nil {
		close(s.done)
	}
	c.sendCond.Broadcast()
	if c.draining && len(c.streams) == 0 && c.role == Client && c.err == nil {
		// Nothing left on a connection that is going away.
		go c.closeWhenWritten()
	}
}

// handlerDone runs after a server handler returns: a stream the handler did
// not end is reset; a response that is complete while the request is not
// tells the client to stop sending (RFC 9113 §8.1).
func (s *Stream) handlerDone() {
	c := s.c
	c.mu.Lock()
	closed, local := s.closed, s.localDone
	c.mu.Unlock()
	switch {
	case closed:
	case !local:
		s.Reset(frame.ErrCodeInternal)
	default:
		s.Reset(frame.ErrCodeNo)
	}
}
