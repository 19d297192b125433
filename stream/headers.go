package stream

import (
	"errors"
	"time"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
)

// headerFragment feeds one fragment of the open header block to the HPACK
// decoder, and handles the header list once the block ends.
func (c *Conn) headerFragment(p []byte, end, first bool) error {
	if first {
		c.dec.Begin(c.fields[:0])
	}
	if err := c.dec.Write(p); err != nil {
		return decodeErr(err)
	}
	if !end {
		return nil
	}
	fields, err := c.dec.End()
	c.fields = fields[:0]
	tooLarge := false
	if err != nil {
		if !errors.Is(err, hpack.ErrHeaderListTooLarge) {
			return decodeErr(err)
		}
		tooLarge = true
	}
	b := c.block
	c.block = headerBlock{}
	if b.hasReset {
		c.mu.Lock()
		if c.isIdleLocked(b.streamID) && !c.isLocal(b.streamID) {
			c.lastPeerID = b.streamID
		}
		c.mu.Unlock()
		return &frame.StreamError{StreamID: b.streamID, Code: b.reset, Reason: "invalid HEADERS"}
	}
	if c.role == Server {
		return c.onRequestHeaders(b.streamID, b.endStream, fields, tooLarge)
	}
	return c.onResponseHeaders(b.streamID, b.endStream, fields, tooLarge)
}

func decodeErr(err error) error {
	if errors.Is(err, hpack.ErrBlockTooLarge) {
		return &frame.ConnError{Code: frame.ErrCodeEnhanceYourCalm, Reason: err.Error()}
	}
	return &frame.ConnError{Code: frame.ErrCodeCompression, Reason: err.Error()}
}

func copyFields(f []hpack.HeaderField) []hpack.HeaderField {
	return append([]hpack.HeaderField(nil), f...)
}

// keepFields copies a decoded header list into the stream's own space when
// it fits, so the usual request, response and trailers cost no allocation.
// Called with c.mu held.
func (s *Stream) keepFields(f []hpack.HeaderField) []hpack.HeaderField {
	n := len(f)
	if s.fieldsUsed+n > len(s.fieldSpace) {
		return copyFields(f)
	}
	dst := s.fieldSpace[s.fieldsUsed : s.fieldsUsed+n : s.fieldsUsed+n]
	copy(dst, f)
	s.fieldsUsed += n
	return dst
}

// onRequestHeaders handles a header block from a client: a new request, or
// trailers of one in progress.
func (c *Conn) onRequestHeaders(id uint32, end bool, fields []hpack.HeaderField, tooLarge bool) error {
	if id%2 == 0 {
		return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "client opened an even-numbered stream"}
	}
	c.mu.Lock()
	if c.err != nil {
		// Closed while this block was read: fail reset every stream it
		// had, and one accepted now would never be.
		err := c.err
		c.mu.Unlock()
		return err
	}
	if s := c.streams[id]; s != nil {
		c.mu.Unlock()
		return c.onTrailers(s, end, fields, tooLarge)
	}
	if id <= c.lastPeerID {
		how := c.closed.lookup(id)
		c.mu.Unlock()
		switch how {
		case closedByUs:
			// RFC 9113 §5.1: frames that were in flight when we sent
			// RST_STREAM are ignored (the block was decoded for HPACK).
			return nil
		case closedByPeer:
			// RFC 9113 §5.1: frames after receiving RST_STREAM are a
			// stream error.
			return &frame.StreamError{StreamID: id, Code: frame.ErrCodeStreamClosed, Reason: "HEADERS on a reset stream"}
		case closedNormally:
			// RFC 9113 §5.1: frames after END_STREAM on a closed stream.
			return &frame.ConnError{Code: frame.ErrCodeStreamClosed, Reason: "HEADERS on a closed stream"}
		}
		// RFC 9113 §5.1.1: new stream IDs must increase.
		return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "stream ID lower than a previous one"}
	}
	c.lastPeerID = id
	if c.goAwaySent && id > c.goAwayID {
		c.mu.Unlock()
		return nil // RFC 9113 §6.8: streams above the last ID are ignored
	}
	if tooLarge {
		c.closed.add(id, closedByUs)
		// Decoding a header list past its limit costs far more than a
		// frame (an HPACK bomb repeats a large table entry thousands of
		// times): it weighs as many.
		err := c.overheadNLocked("header lists over the limit", oversizeWeight)
		c.mu.Unlock()
		if err != nil {
			return err
		}
		c.rejectRequest(id, end, "431")
		return nil
	}
	if c.nPeer >= c.cfg.MaxConcurrentStreams {
		c.mu.Unlock()
		return &frame.StreamError{StreamID: id, Code: frame.ErrCodeRefusedStream, Reason: "too many concurrent streams"}
	}
	head, err := hpack.ParseRequest(fields)
	if err == nil && end && head.ContentLength > 0 {
		err = errors.New("content-length without a body")
	}
	if err != nil {
		c.mu.Unlock()
		return &frame.StreamError{StreamID: id, Code: frame.ErrCodeProtocol, Reason: err.Error()}
	}
	s := c.newStreamLocked(id)
	s.header = s.keepFields(fields)
	s.req = head
	s.contentLength = head.ContentLength
	s.gotHeader = true
	s.remoteDone = end
	c.streams[id] = s
	c.nActive.Add(1)
	c.nPeer++
	if c.handlers < int(c.cfg.MaxConcurrentStreams) {
		c.handlers++
		c.wg.Add(1)
		c.mu.Unlock()
		go c.runHandlers(s)
		return nil
	}
	// Every handler slot is taken although fewer streams are open: the
	// peer reset streams whose handlers still run. The stream waits for a
	// slot, in a queue that a peer resetting streams faster than handlers
	// return fills up (CVE-2023-44487).
	if len(c.queued) >= maxQueuedFactor*int(c.cfg.MaxConcurrentStreams) {
		c.mu.Unlock()
		return &frame.ConnError{Code: frame.ErrCodeEnhanceYourCalm, Reason: "too many streams reset before their handlers returned"}
	}
	c.queued = append(c.queued, s)
	c.mu.Unlock()
	return nil
}

// oversizeWeight is what a request whose header list is over the limit
// counts against the overhead budget.
const oversizeWeight = 10

// maxQueuedFactor bounds the streams waiting for a handler, as a multiple
// of MaxConcurrentStreams.
const maxQueuedFactor = 4

// rejectRequest answers a request whose header list was too large with an
// HTTP status and no body (RFC 9113 §10.5.1).
func (c *Conn) rejectRequest(id uint32, end bool, status string) {
	var fields = [...]hpack.HeaderField{{Name: ":status", Value: status}}
	buf := c.w.Start()
	c.hbuf = c.enc.AppendBlock(c.hbuf[:0], fields[:])
	c.mu.Lock()
	maxFrame := c.peer.MaxFrameSize
	c.mu.Unlock()
	buf = frame.AppendHeaders(buf, id, true, c.hbuf, maxFrame)
	if !end {
		buf = frame.AppendRSTStream(buf, id, frame.ErrCodeNo)
	}
	c.w.Finish(buf, frame.FlushAsync)
}

// runHandlers serves s, then the queued streams while there are any, on
// one goroutine. A queued stream that has already ended (reset by the
// peer, or the connection failed) is dropped without a handler.
func (c *Conn) runHandlers(s *Stream) {
	defer c.wg.Done()
	for s != nil {
		c.handler(s)
		s.handlerDone()
		c.mu.Lock()
		s = nil
		for s == nil && len(c.queued) > 0 {
			s = c.queued[0]
			n := copy(c.queued, c.queued[1:])
			c.queued[n] = nil
			c.queued = c.queued[:n]
			if s.closed {
				s = nil
			}
		}
		if s == nil {
			c.handlers--
		}
		c.mu.Unlock()
	}
}

// onResponseHeaders handles a header block from a server: response
// headers (after any 1xx), or trailers.
func (c *Conn) onResponseHeaders(id uint32, end bool, fields []hpack.HeaderField, tooLarge bool) error {
	if id%2 == 0 {
		return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "server opened a stream (push is disabled)"}
	}
	c.mu.Lock()
	s := c.streams[id]
	if s == nil {
		idle := c.isIdleLocked(id)
		how := c.closed.lookup(id)
		c.mu.Unlock()
		if idle {
			return &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "HEADERS on idle stream"}
		}
		if how == closedByUs {
			return nil // in flight when we reset it (RFC 9113 §5.1)
		}
		return &frame.StreamError{StreamID: id, Code: frame.ErrCodeStreamClosed, Reason: "HEADERS on a closed stream"}
	}
	if s.gotHeader {
		c.mu.Unlock()
		return c.onTrailers(s, end, fields, tooLarge)
	}
	if tooLarge {
		c.mu.Unlock()
		return &frame.StreamError{StreamID: id, Code: frame.ErrCodeProtocol, Reason: "response header list too large"}
	}
	head, err := hpack.ParseResponse(fields)
	if err != nil {
		c.mu.Unlock()
		return &frame.StreamError{StreamID: id, Code: frame.ErrCodeProtocol, Reason: err.Error()}
	}
	if head.Status < 200 {
		c.mu.Unlock()
		if end {
			return &frame.StreamError{StreamID: id, Code: frame.ErrCodeProtocol, Reason: "informational response ends the stream"}
		}
		return nil // 1xx: wait for the final response
	}
	s.header = s.keepFields(fields)
	s.status = head.Status
	s.contentLength = head.ContentLength
	s.gotHeader = true
	if end {
		if head.ContentLength > 0 {
			c.mu.Unlock()
			return &frame.StreamError{StreamID: id, Code: frame.ErrCodeProtocol, Reason: "content-length without a body"}
		}
		s.trailersOnly = true
		s.remoteDone = true
	}
	s.cond.Broadcast()
	c.maybeCloseLocked(s)
	c.mu.Unlock()
	return nil
}

// onTrailers handles a second header block on a stream: trailers, which
// must end the stream (RFC 9113 §8.1).
func (c *Conn) onTrailers(s *Stream, end bool, fields []hpack.HeaderField, tooLarge bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.remoteDone {
		return &frame.StreamError{StreamID: s.id, Code: frame.ErrCodeStreamClosed, Reason: "HEADERS after END_STREAM"}
	}
	if !end {
		return &frame.StreamError{StreamID: s.id, Code: frame.ErrCodeProtocol, Reason: "second HEADERS without END_STREAM"}
	}
	if tooLarge {
		return &frame.StreamError{StreamID: s.id, Code: frame.ErrCodeProtocol, Reason: "trailer list too large"}
	}
	if err := hpack.CheckTrailers(fields); err != nil {
		return &frame.StreamError{StreamID: s.id, Code: frame.ErrCodeProtocol, Reason: err.Error()}
	}
	if s.contentLength >= 0 && s.dataRecv != s.contentLength {
		return &frame.StreamError{StreamID: s.id, Code: frame.ErrCodeProtocol, Reason: "body shorter than content-length"}
	}
	s.trailer = s.keepFields(fields)
	s.remoteDone = true
	s.cond.Broadcast()
	c.maybeCloseLocked(s)
	return nil
}

// dataStreamLocked returns the stream that takes a DATA frame of n bytes
// (n counts padding), or nil with the error the frame deserves (nil when it
// is ignored). It applies RFC 9113 §5.1 to frames on streams that are not
// open, the stream window (§6.9) and content-length (§8.1.1).
func (c *Conn) dataStreamLocked(f *frame.Frame, n int64) (*Stream, error) {
	id := f.StreamID
	s := c.streams[id]
	if s == nil {
		if c.isIdleLocked(id) {
			return nil, &frame.ConnError{Code: frame.ErrCodeProtocol, Reason: "DATA on idle stream"}
		}
		switch c.closed.lookup(id) {
		case closedNormally:
			// Frames after END_STREAM both ways are a connection error.
			return nil, &frame.ConnError{Code: frame.ErrCodeStreamClosed, Reason: "DATA on a closed stream"}
		case closedByUs:
			return nil, nil // in flight when we reset the stream: ignored
		}
		return nil, &frame.StreamError{StreamID: id, Code: frame.ErrCodeStreamClosed, Reason: "DATA on a closed stream"}
	}
	switch {
	case s.remoteDone:
		return nil, &frame.StreamError{StreamID: id, Code: frame.ErrCodeStreamClosed, Reason: "DATA after END_STREAM"}
	case !s.gotHeader:
		return nil, &frame.StreamError{StreamID: id, Code: frame.ErrCodeProtocol, Reason: "DATA before response headers"}
	case !s.recvWin.Receive(n):
		return nil, &frame.StreamError{StreamID: id, Code: frame.ErrCodeFlowControl, Reason: "DATA beyond the stream window"}
	}
	s.dataRecv += int64(len(f.Data))
	if cl := s.contentLength; cl >= 0 && (s.dataRecv > cl || (f.EndStream() && s.dataRecv != cl)) {
		return nil, &frame.StreamError{StreamID: id, Code: frame.ErrCodeProtocol, Reason: "body length differs from content-length"}
	}
	return s, nil
}

// onData handles DATA: flow control first (RFC 9113 §6.9), then the
// stream's state and content-length (§8.1.1).
func (c *Conn) onData(f *frame.Frame) error {
	n := int64(f.Length)
	c.mu.Lock()
	if !c.recvWin.Receive(n) {
		c.mu.Unlock()
		return &frame.ConnError{Code: frame.ErrCodeFlowControl, Reason: "DATA beyond the connection window"}
	}
	s, err := c.dataStreamLocked(f, n)
	if s == nil {
		// Dropped: the bytes count against the connection window, so they
		// are given back at once.
		inc := c.recvWin.Consume(n)
		if err == nil {
			// Ignored, on a stream we reset: the first few are in flight,
			// a stream of them is a flood.
			err = c.overheadLocked("frames on reset streams")
		}
		c.mu.Unlock()
		c.queueWindowUpdate(0, inc, frame.FlushAsync)
		return err
	}
	end := f.EndStream()
	s.buf.Write(f.Data)
	var streamInc, connInc uint32
	if len(f.Data) == 0 && !end {
		// Empty DATA frames carry nothing (CVE-2019-9518).
		if err := c.overheadLocked("empty DATA frames"); err != nil {
			c.mu.Unlock()
			return err
		}
	}
	if pad := n - int64(len(f.Data)); pad > 0 {
		// Padding is flow-controlled but never read: return it now.
		streamInc = s.recvWin.Consume(pad)
		connInc = c.recvWin.Consume(pad)
	}
	if end {
		s.remoteDone = true
		streamInc = 0
		c.maybeCloseLocked(s)
	}
	s.cond.Broadcast()
	ping := c.bdp != nil && c.bdp.OnData(uint32(n))
	if ping {
		c.bdp.PingSent(time.Now())
	}
	c.mu.Unlock()
	if ping || streamInc > 0 || connInc > 0 {
		buf := c.w.Start()
		if ping {
			buf = frame.AppendPing(buf, false, frame.BDPPingData)
		}
		if connInc > 0 {
			buf = frame.AppendWindowUpdate(buf, 0, connInc)
		}
		if streamInc > 0 {
			buf = frame.AppendWindowUpdate(buf, f.StreamID, streamInc)
		}
		return c.w.Finish(buf, frame.FlushAsync)
	}
	return nil
}
