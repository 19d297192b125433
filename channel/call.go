package channel

import (
	"context"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/codec"
	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
	"github.com/h2rpc/h2rpc/internal/headers"
	"github.com/h2rpc/h2rpc/stream"
)

// ClientStream is one call on the client side, at the level of message
// bytes.
//
// Who touches it when: SendMsg and CloseSend belong to one goroutine
// (the sender), RecvMsg to one goroutine (the receiver, possibly another);
// Header, Trailer and Cancel may be called from any goroutine. The fields
// below the sender's and receiver's marks are theirs alone; the response
// headers are checked once, under hmu, by whichever of RecvMsg and Header
// asks first. The context callback registered by open reaches only the
// *stream.Stream, which is never reused, so a ClientStream may be pooled
// (Invoke does) even while that callback is still running.
type ClientStream struct {
	cc     *ClientConn
	ctx    context.Context
	method string
	co     CallOptions
	conn   *stream.Conn
	st     *stream.Stream
	stop   func() bool // stops the reset on ctx end; nil if ctx never ends

	sendComp   codec.Compressor
	noCompress bool // SetMessageCompression(false)
	maxSend    int
	flushed    atomic.Bool // the request headers have left (read by both goroutines)
	sendClosed bool        // sender's

	hmu          sync.Mutex // guards the header fields below until headerDone
	headerDone   bool
	headerErr    error
	headerFields []hpack.HeaderField // response headers (also trailers when trailers-only)
	retryErr     error               // why the server certainly did not process the call

	recvErr    error // receiver's: final result of the call, once known
	mr         msgReader
	fields     [12]hpack.HeaderField
	timeoutBuf [12]byte

	// done is the balancer's callback for the call's outcome (nil if it
	// has none), taken once by whoever ends the call first.
	done     atomic.Pointer[func(balancer.DoneInfo)]
	stopDone func() bool // stops NewStream's context watch
	counted  atomic.Bool // NewStream's call counted in cc.active

	prevAttempts int          // grpc-previous-rpc-attempts of this attempt
	localErr     bool         // the client itself failed this attempt
	thr          *throttler   // the channel's retry throttle, told of success
	rs           *streamRetry // a streaming call's retries; nil: none
	cancelCtx    func()       // ends the context of a method config's timeout
	hedge        *hedgeState  // the hedged call this attempt belongs to
	sh           *streamHedge // a hedged streaming call's attempts; cs is their front
	stats        *callStats   // the attempt's stats; nil without handlers
}

var clientStreamPool = sync.Pool{New: func() any { return new(ClientStream) }}

// contentTypeFor returns the content-type of a content subtype; the
// common ones are constants.
func contentTypeFor(subtype string) string {
	switch subtype {
	case "":
		return "application/grpc"
	case "proto":
		return "application/grpc+proto"
	case "json":
		return "application/grpc+json"
	}
	return "application/grpc+" + subtype
}

// contentSubtype returns the subtype of a gRPC content-type, and whether
// it is one ("application/grpc" alone is proto).
func contentSubtype(ct string) (string, bool) {
	const base = "application/grpc"
	if len(ct) < len(base) || !strings.EqualFold(ct[:len(base)], base) {
		return "", false
	}
	rest := ct[len(base):]
	switch {
	case rest == "":
		return "proto", true
	case rest[0] == '+':
		sub := rest[1:]
		if i := strings.IndexByte(sub, ';'); i >= 0 {
			sub = sub[:i]
		}
		if sub == "" {
			return "proto", true
		}
		return strings.ToLower(sub), true
	case rest[0] == ';':
		return "proto", true
	}
	return "", false
}

// init prepares a call before its stream opens.
func (cs *ClientStream) init(cc *ClientConn, ctx context.Context, method string, co *CallOptions, mc *methodConfig) error {
	cs.cc, cs.ctx, cs.method = cc, ctx, method
	if co != nil {
		cs.co = *co
	}
	cs.maxSend = cc.opts.maxSend
	if cs.co.MaxSendMsgSize > 0 {
		cs.maxSend = cs.co.MaxSendMsgSize
	}
	cs.mr.limit = cc.opts.maxRecv
	cs.mr.eager = &cc.eager
	if cs.co.MaxRecvMsgSize > 0 {
		cs.mr.limit = cs.co.MaxRecvMsgSize
	}
	if mc != nil {
		cs.applyMethodConfig(mc)
	}
	name := cs.co.Compressor
	if name == "" {
		name = cc.opts.compressor
	}
	if name != "" && name != "identity" {
		cs.sendComp = codec.GetCompressor(name)
		if cs.sendComp == nil {
			return status.Errorf(codes.Internal, "grpc: Compressor is not installed for requested grpc-encoding %q", name)
		}
	}
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	return nil
}

// release returns cs to the pool; it must not be used afterwards.
func (cs *ClientStream) release() {
	*cs = ClientStream{}
	clientStreamPool.Put(cs)
}

// requestHeaders builds the request header list into cs.fields.
func (cs *ClientStream) requestHeaders() ([]hpack.HeaderField, error) {
	cc := cs.cc
	f := append(cs.fields[:0],
		hpack.HeaderField{Name: ":method", Value: "POST"},
		hpack.HeaderField{Name: ":scheme", Value: cc.scheme},
		hpack.HeaderField{Name: ":path", Value: cs.method},
		hpack.HeaderField{Name: ":authority", Value: cc.authority},
		hpack.HeaderField{Name: "content-type", Value: contentTypeFor(cs.co.ContentSubtype)},
		hpack.HeaderField{Name: "user-agent", Value: cc.userAgent},
		hpack.HeaderField{Name: "te", Value: "trailers"},
	)
	if cs.prevAttempts > 0 {
		f = append(f, hpack.HeaderField{Name: "grpc-previous-rpc-attempts", Value: strconv.Itoa(cs.prevAttempts)})
	}
	if cs.sendComp != nil {
		f = append(f, hpack.HeaderField{Name: "grpc-encoding", Value: cs.sendComp.Name()})
	}
	if ae := codec.AcceptEncoding(); ae != "" {
		f = append(f, hpack.HeaderField{Name: "grpc-accept-encoding", Value: ae})
	}
	if dl, ok := cs.ctx.Deadline(); ok {
		// Never indexed: the value changes with every call, and would
		// only churn both HPACK tables.
		v := appendTimeout(cs.timeoutBuf[:0], time.Until(dl))
		f = append(f, hpack.HeaderField{Name: "grpc-timeout", Value: string(v), Sensitive: true})
	}
	md, added, ok := metadata.FromOutgoingContextRaw(cs.outgoingCtx())
	if !ok {
		return f, nil
	}
	var err error
	for k, vs := range md {
		for _, v := range vs {
			if f, err = appendMetadata(f, k, v); err != nil {
				return nil, err
			}
		}
	}
	for _, kv := range added {
		for i := 0; i+1 < len(kv); i += 2 {
			if f, err = appendMetadata(f, strings.ToLower(kv[i]), kv[i+1]); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// appendMetadata adds one user metadata pair to a header list, refusing
// reserved and invalid keys and values; binary values are base64-encoded.
func appendMetadata(f []hpack.HeaderField, k, v string) ([]hpack.HeaderField, error) {
	if metadata.IsReservedKey(k) {
		return f, status.Errorf(codes.Internal, "grpc: metadata key %q is reserved for the protocol", k)
	}
	if err := metadata.ValidateKey(k); err != nil {
		return f, status.Errorf(codes.Internal, "grpc: %v", err)
	}
	if metadata.IsBinaryKey(k) {
		v = metadata.EncodeBinary([]byte(v))
	} else if err := metadata.ValidateValue(k, v); err != nil {
		return f, status.Errorf(codes.Internal, "grpc: %v", err)
	}
	return append(f, hpack.HeaderField{Name: k, Value: v}), nil
}

// open starts the stream on conn; its headers leave with the first flush.
func (cs *ClientStream) open(conn *stream.Conn, endStream, flush bool) error {
	fields, err := cs.requestHeaders()
	if err != nil {
		cs.localErr = true
		return err
	}
	st, err := conn.OpenStream(cs.ctx, fields, endStream, flush)
	if err != nil {
		var ce *stream.ConnError
		if errors.As(err, &ce) {
			// The connection ended before the stream could open (after a
			// GOAWAY, say): nothing was sent.
			return notSentError{err}
		}
		return err
	}
	cs.conn, cs.st = conn, st
	if cs.stats != nil {
		cs.statsOutHeader(fields)
	}
	cs.flushed.Store(flush)
	cs.sendClosed = endStream
	cs.mr.r = st
	if cs.ctx.Done() != nil {
		// The callback holds st, not cs: it may run after the call has
		// ended and cs has been reused, and resetting a finished stream
		// does nothing.
		cs.stop = context.AfterFunc(cs.ctx, st.Cancel)
	}
	return nil
}

// Context returns the call's context.
func (cs *ClientStream) Context() context.Context { return cs.ctx }

// SetMessageCompression chooses whether the following messages are
// compressed, when the call has a compressor (they are by default).
func (cs *ClientStream) SetMessageCompression(on bool) {
	if cs.sh != nil {
		cs.sh.setCompression(on)
		return
	}
	cs.noCompress = !on
}

// SendMsg sends one message: p holds MsgHeaderLen free bytes, then the
// message. p may be reused once SendMsg returns. If the call has already
// ended, SendMsg returns io.EOF and RecvMsg tells how it ended.
func (cs *ClientStream) SendMsg(p []byte) error {
	if cs.sh != nil {
		return cs.sh.sendMsg(p, false)
	}
	if cs.rs != nil && !cs.rs.committed.Load() {
		return cs.sendRetried(p, false)
	}
	return cs.send(p, false)
}

func (cs *ClientStream) send(p []byte, last bool) error {
	if cs.sendClosed {
		return status.Error(codes.Internal, "grpc: SendMsg called after CloseSend")
	}
	if err := checkSendSize(p, cs.maxSend); err != nil {
		cs.localErr = true
		return err
	}
	var comp codec.Compressor
	if !cs.noCompress {
		comp = cs.sendComp
	}
	n, err := writeMsg(cs.st, comp, p, last, true)
	if cs.stats != nil && !isStatusError(err) {
		cs.statsOutPayload(p, n)
	}
	cs.flushed.Store(true)
	if last {
		cs.sendClosed = true
	}
	if err != nil {
		if isStatusError(err) {
			return err
		}
		return io.EOF
	}
	return nil
}

// CloseSend ends the request side of the call.
func (cs *ClientStream) CloseSend() error {
	if cs.sh != nil {
		return cs.sh.sendMsg(nil, true)
	}
	if cs.rs != nil && !cs.rs.committed.Load() {
		return cs.closeSendRetried()
	}
	return cs.closeSend()
}

func (cs *ClientStream) closeSend() error {
	if cs.sendClosed {
		return nil
	}
	if cs.ctx.Err() != nil {
		// The caller has given up, and the context's callback may not
		// have reset the stream yet: ending the request now could let the
		// server answer it as a whole one.
		cs.sendClosed = true
		cs.st.Reset(frame.ErrCodeCancel)
		return nil
	}
	cs.sendClosed = true
	cs.flushed.Store(true)
	if err := cs.st.CloseSend(); err != nil && !errors.Is(err, stream.ErrStreamClosed) {
		return nil // the call ended; RecvMsg says how
	}
	return nil
}

// flush sends the request headers if they are still waiting, so that a
// caller who reads before sending does not wait forever.
func (cs *ClientStream) flush() {
	if cs.flushed.Load() || cs.flushed.Swap(true) {
		return
	}
	w := cs.conn.Writer()
	w.Finish(w.Start(), frame.Flush)
}

// Cancel abandons the call: the stream is reset with CANCEL. Calls whose
// context ends are cancelled the same way.
func (cs *ClientStream) Cancel() {
	if cs.sh != nil {
		cs.sh.cancel()
		return
	}
	if rs := cs.rs; rs != nil {
		// The receiver may be replacing the attempt's stream.
		if rs.cancelled.CompareAndSwap(false, true) {
			close(rs.stopWait)
		}
		if st := rs.cur.Load(); st != nil {
			st.Reset(frame.ErrCodeCancel)
		}
		return
	}
	if cs.st != nil {
		cs.st.Reset(frame.ErrCodeCancel)
	}
}

// Header waits for the response headers and returns their metadata. For
// a call that ended without headers (trailers-only), it returns an empty
// MD and nil error; RecvMsg then returns the status.
func (cs *ClientStream) Header() (metadata.MD, error) {
	if cs.sh != nil {
		return cs.sh.header()
	}
	fields, err := cs.readHeader()
	if err != nil && fields == nil {
		return nil, err
	}
	if cs.st.TrailersOnly() {
		return metadata.MD{}, nil
	}
	return headerMD(fields), nil
}

// readHeader waits for the response headers and checks them, once for
// the call, whichever goroutine asks first; the others wait for its
// verdict. It returns the header list (nil if none arrived) and the
// verdict: nil when messages may follow, io.EOF for an OK Trailers-Only
// response, else the call's status error.
func (cs *ClientStream) readHeader() ([]hpack.HeaderField, error) {
	cs.hmu.Lock()
	defer cs.hmu.Unlock()
	for !cs.headerDone {
		cs.flush()
		cs.headerErr = cs.checkHeader()
		if cs.headerErr != nil && cs.rs != nil && cs.retryAttempt(cs.headerErr) {
			continue // a new attempt is on its way
		}
		cs.headerDone = true
		if cs.rs != nil {
			cs.rs.commit()
		}
	}
	return cs.headerFields, cs.headerErr
}

// checkHeader waits for the response headers and checks them; hmu is held.
// The HTTP status comes first, then the content-type (a response that is
// not gRPC is UNKNOWN, Trailers-Only included), then grpc-status.
func (cs *ClientStream) checkHeader() error {
	fields, err := cs.st.Header()
	if err != nil {
		if retryable(err) {
			cs.retryErr = err
		}
		return cs.streamError(err)
	}
	cs.headerFields = fields
	if cs.stats != nil {
		cs.statsInHeader(fields)
	}
	if s := cs.st.Status(); s != 200 {
		return httpStatusError(s)
	}
	var ct, enc string
	for _, hf := range fields {
		switch hf.Name {
		case "content-type":
			ct = hf.Value
		case "grpc-encoding":
			enc = hf.Value
		}
	}
	if _, ok := contentSubtype(ct); !ok {
		return status.Errorf(codes.Unknown, "grpc: unexpected content-type %q in the response", ct)
	}
	if cs.st.TrailersOnly() {
		if err := trailerStatus(fields); err != nil {
			return err
		}
		return io.EOF
	}
	if enc != "" && enc != "identity" {
		cs.mr.decomp = codec.GetCompressor(enc)
		if cs.mr.decomp == nil {
			return status.Errorf(codes.Internal, "grpc: Decompressor is not installed for grpc-encoding %q", enc)
		}
	}
	return nil
}

// RecvMsg receives the next message, appended to buf[:0]. After the last
// one it returns io.EOF if the call succeeded, or the call's status error.
func (cs *ClientStream) RecvMsg(buf []byte) ([]byte, error) {
	if cs.recvErr != nil {
		return buf[:0], cs.recvErr
	}
	if cs.sh != nil {
		msg, err := cs.sh.recvMsg(buf)
		if err != nil {
			cs.end(err) // the front's own end: idle count, timeout
		}
		return msg, err
	}
	if _, err := cs.readHeader(); err != nil {
		return buf[:0], cs.end(err)
	}
	msg, err := cs.mr.next(buf)
	if err == nil {
		if cs.stats != nil {
			cs.statsInPayload(msg)
		}
		return msg, nil
	}
	if err == io.EOF {
		if cs.stats != nil {
			cs.statsInTrailer(cs.st.Trailer())
		}
		err = trailerStatus(cs.st.Trailer())
		if err == nil {
			err = io.EOF
		}
		return msg, cs.end(err)
	}
	if isStatusError(err) {
		// Our own verdict on what was received (size, compression): the
		// server must stop sending.
		cs.st.Reset(frame.ErrCodeCancel)
		return msg, cs.end(err)
	}
	// The stream failed; if the trailers made it, they tell the story.
	if tr := cs.st.Trailer(); tr != nil && cs.ctx.Err() == nil {
		if cs.stats != nil {
			cs.statsInTrailer(tr)
		}
		if err := trailerStatus(tr); err != nil {
			return msg, cs.end(err)
		}
	}
	return msg, cs.end(cs.streamError(err))
}

// streamError maps an error of the call's stream to its status: a call
// cut off by ClientConn.Close is CANCELLED, as in grpc-go.
func (cs *ClientStream) streamError(err error) error {
	if cs.cc.closingCtx.Err() != nil && !isStatusError(err) {
		return ErrClientConnClosing
	}
	return streamError(cs.ctx, err)
}

// setDone records the balancer's callback for the call's outcome.
func (cs *ClientStream) setDone(done func(balancer.DoneInfo)) {
	if done != nil {
		d := done // on the heap only for balancers that have a Done
		cs.done.Store(&d)
	}
}

// uncount ends a streaming call's count among the channel's active calls
// (idle mode), once.
func (cs *ClientStream) uncount() {
	if cs.counted.CompareAndSwap(true, false) {
		cs.cc.callEnded()
	}
}

// callDone gives the balancer the call's outcome, once.
func (cs *ClientStream) callDone(err error) {
	if d := cs.done.Swap(nil); d != nil {
		if err == io.EOF {
			err = nil
		}
		(*d)(balancer.DoneInfo{Err: err, BytesSent: cs.flushed.Load()})
	}
}

// end records the final result of the call and stops watching its context.
func (cs *ClientStream) end(err error) error {
	if cs.recvErr == nil {
		cs.recvErr = err
		if cs.stop != nil {
			cs.stop()
			cs.stop = nil
		}
		if cs.stopDone != nil {
			cs.stopDone()
		}
		cs.callDone(err)
		if cs.stats != nil {
			cs.statsEnd(err)
		}
		cs.uncount()
		if err == io.EOF {
			cs.thr.success()
		}
		if err != io.EOF && cs.st != nil {
			// Make sure the server stops: a no-op if the stream is over.
			cs.st.Reset(frame.ErrCodeCancel)
		}
		if cs.rs != nil {
			// After the reset, which frees a sender blocked on the stream
			// while it holds rs.mu.
			cs.rs.commit()
		}
		cs.endCtx()
	}
	return cs.recvErr
}

// Trailer returns the trailer metadata, once RecvMsg has returned an
// error.
func (cs *ClientStream) Trailer() metadata.MD {
	if cs.sh != nil {
		return cs.sh.trailer()
	}
	if cs.st == nil {
		return nil
	}
	return headerMD(cs.st.Trailer())
}

// LastRecvCompressed reports whether the last message received carried
// the compressed flag.
func (cs *ClientStream) LastRecvCompressed() bool {
	if cs.sh != nil {
		if w := cs.sh.winner.Load(); w != nil {
			return w.mr.compressed
		}
	}
	return cs.mr.compressed
}

// trailerStatus returns the status carried by trailers (nil for OK).
func trailerStatus(fields []hpack.HeaderField) error {
	var code codes.Code
	var msg, details string
	found := false
	for _, hf := range fields {
		switch hf.Name {
		case "grpc-status":
			c, ok := grpcStatusCode(hf.Value)
			if !ok {
				return status.Errorf(codes.Internal, "grpc: malformed grpc-status %q", hf.Value)
			}
			code, found = c, true
		case "grpc-message":
			msg = status.DecodeMessage(hf.Value)
		case "grpc-status-details-bin":
			details = hf.Value
		}
	}
	if !found {
		return status.Error(codes.Internal, "grpc: server closed the stream without sending a grpc-status")
	}
	if code == codes.OK {
		return nil
	}
	if details != "" {
		if b, err := metadata.DecodeBinary(details); err == nil {
			if st, err := status.UnmarshalProto(b); err == nil && st.Code() == code {
				return st.Err()
			}
		}
	}
	return status.New(code, msg).Err()
}

// headerMD returns the user metadata of response headers or trailers.
func headerMD(fields []hpack.HeaderField) metadata.MD {
	md := metadata.MD{}
	for _, hf := range fields {
		if headers.Visible(hf.Name) {
			addIncoming(md, hf.Name, hf.Value)
		}
	}
	return md
}

// addIncoming adds a received pair, decoding binary values; a binary value
// that is not base64 is dropped.
func addIncoming(md metadata.MD, k, v string) {
	if metadata.IsBinaryKey(k) {
		b, err := metadata.DecodeBinary(v)
		if err != nil {
			return
		}
		v = string(b)
	}
	md[k] = append(md[k], v)
}

// NewStream starts a call of any kind. The request headers are sent with
// the first message, or by CloseSend, Header or RecvMsg. A method with a
// retry policy is retried (gRFC A6) until the call commits: when response
// headers arrive, or when the messages sent outgrow the retry buffer.
func (cc *ClientConn) NewStream(ctx context.Context, method string, co *CallOptions) (*ClientStream, error) {
	cfg, err := cc.config(ctx)
	if err != nil {
		return nil, err
	}
	mc := cfg.lookup(method)
	var cancel context.CancelFunc
	if mc != nil && mc.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, mc.timeout)
	}
	cs := new(ClientStream)
	cs.cancelCtx, cs.thr = cancel, cfg.thr
	if err := cs.init(cc, ctx, method, co, mc); err != nil {
		cs.endCtx()
		return nil, err
	}
	if mc != nil && mc.retry != nil && !cc.opts.noRetry {
		cs.rs = &streamRetry{retryState: retryState{policy: mc.retry, thr: cfg.thr}, limit: defaultRetryBufferPerCall, cc: cc, stopWait: make(chan struct{})}
		if n := cs.co.MaxRetryRPCBufferSize; n > 0 {
			cs.rs.limit = n
		}
	}
	cc.callStarted()
	cs.counted.Store(true)
	if mc != nil && mc.hedge != nil && !cc.opts.noRetry {
		// The attempts carry the call; cs is their front.
		cs.thr = nil
		cs.sh = cc.newStreamHedge(ctx, method, cs.co, mc, cfg.thr)
	} else {
		cs.statsBegin(false)
		if err := cs.openAttempt(); err != nil {
			cs.statsEnd(err)
			cs.uncount()
			cs.endCtx()
			return nil, err
		}
	}
	if ctx.Done() != nil {
		// A stream its caller abandons by cancelling ctx still reports its
		// end to the balancer and to idle mode. NewStream's ClientStreams
		// are never pooled, so the callback may hold cs.
		cs.stopDone = context.AfterFunc(ctx, func() {
			cs.callDone(status.FromContextError(ctx.Err()).Err())
			cs.uncount()
			if cs.rs != nil {
				cs.rs.commit() // gives back its share of the retry budget
			}
		})
	}
	return cs, nil
}

// openAttempt picks a connection and opens the call's stream on it,
// again on another connection while the stream never left the client
// (gRFC A6: such transparent retries are unlimited; the context bounds
// them).
func (cs *ClientStream) openAttempt() error {
	for {
		conn, done, err := cs.cc.pick(cs.ctx, cs.co.WaitForReady, cs.method)
		if err != nil {
			return err
		}
		cs.setDone(done)
		err = cs.open(conn, false, false)
		if err == nil {
			if cs.rs != nil {
				cs.rs.cur.Store(cs.st)
			}
			return nil
		}
		cs.callDone(err)
		if neverSent(err) {
			// Let the subchannel see its connection is gone before the
			// next pick.
			runtime.Gosched()
			continue
		}
		return cs.streamError(err)
	}
}

// endCtx releases the context of the method config's timeout.
func (cs *ClientStream) endCtx() {
	if cs.cancelCtx != nil {
		cs.cancelCtx()
		cs.cancelCtx = nil
	}
}

// applyMethodConfig applies a method config to a call: waitForReady unless
// a call option chose it, and the size limits (the smaller of the method
// config's and the call's or channel's, when both are set).
func (cs *ClientStream) applyMethodConfig(mc *methodConfig) {
	if mc.waitForReady != 0 && !cs.co.WaitForReadySet {
		cs.co.WaitForReady = mc.waitForReady > 0
	}
	if mc.maxReq > 0 {
		if cs.co.MaxSendMsgSize > 0 || cs.cc.opts.sendSet {
			cs.maxSend = min(cs.maxSend, mc.maxReq)
		} else {
			cs.maxSend = mc.maxReq
		}
	}
	if mc.maxResp > 0 {
		if cs.co.MaxRecvMsgSize > 0 || cs.cc.opts.recvSet {
			cs.mr.limit = min(cs.mr.limit, mc.maxResp)
		} else {
			cs.mr.limit = mc.maxResp
		}
	}
}

// Invoke runs a unary call. req holds MsgHeaderLen free bytes, then the
// request message; the response message is appended to reply[:0]. The
// error is a status error (status.FromError). header and trailer, when not
// nil, receive the response metadata. The method config applies: its
// timeout, waitForReady and size limits, and its retry or hedging policy
// (gRFC A6); the deadline covers every attempt.
func (cc *ClientConn) Invoke(ctx context.Context, method string, req, reply []byte, co *CallOptions, header, trailer *metadata.MD) ([]byte, error) {
	cc.callStarted()
	defer cc.callEnded()
	cfg, err := cc.config(ctx)
	if err != nil {
		return reply[:0], err
	}
	mc := cfg.lookup(method)
	if mc != nil {
		if mc.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, mc.timeout)
			defer cancel()
		}
		if mc.hedge != nil && !cc.opts.noRetry {
			return cc.invokeHedged(ctx, method, req, reply, co, mc, cfg.thr, header, trailer)
		}
	}
	rs := retryState{thr: cfg.thr}
	if mc != nil && !cc.opts.noRetry {
		rs.policy = mc.retry
	}
	cs := clientStreamPool.Get().(*ClientStream)
	defer cs.release()
	transparent := false
	for {
		if err := cs.init(cc, ctx, method, co, mc); err != nil {
			return reply[:0], err
		}
		cs.prevAttempts = rs.retries
		if cc.opts.stats != nil {
			cs.statsBegin(transparent)
		}
		reply, err = cs.invokeOnce(req, reply, header, trailer)
		if cs.stats != nil {
			cs.statsEnd(err)
		}
		if err == nil {
			rs.thr.success()
			return reply, nil
		}
		var wait time.Duration
		var again bool
		var ferr error
		transparent, wait, again, ferr = rs.next(cs.attemptEnd(err))
		if !again {
			return reply, ferr
		}
		*cs = ClientStream{}
		if err := sleep(ctx, wait); err != nil {
			return reply[:0], contextError(err)
		}
		if transparent {
			runtime.Gosched()
		} else {
			rs.retries++
		}
	}
}

// attemptEnd describes how the call's attempt failed with err.
func (cs *ClientStream) attemptEnd(err error) attemptEnd {
	e := attemptEnd{err: err, streamErr: cs.retryErr, local: cs.localErr}
	if cs.st == nil {
		return e
	}
	if cs.headerFields != nil && cs.st.TrailersOnly() {
		e.trailers = cs.headerFields
	} else {
		e.committed = cs.headerFields != nil
		e.trailers = cs.st.Trailer()
	}
	return e
}

func (cs *ClientStream) invokeOnce(req, reply []byte, header, trailer *metadata.MD) ([]byte, error) {
	var conn *stream.Conn
	var done func(balancer.DoneInfo)
	var err error
	if cs.hedge != nil {
		conn, done, err = cs.hedge.pick(cs)
	} else {
		conn, done, err = cs.cc.pick(cs.ctx, cs.co.WaitForReady, cs.method)
	}
	if err != nil {
		return reply[:0], err
	}
	cs.setDone(done)
	cs.conn = conn
	if err := cs.open(conn, false, false); err != nil {
		if retryable(err) {
			cs.retryErr = err
		}
		cs.callDone(err)
		return reply[:0], cs.streamError(err)
	}
	if err := cs.send(req, true); err != nil && err != io.EOF {
		return reply[:0], cs.end(err)
	}
	if cs.hedge != nil {
		if _, herr := cs.readHeader(); herr == nil && !cs.hedge.commit(cs) {
			return reply[:0], cs.end(errHedgeLost)
		}
	}
	reply, err = cs.RecvMsg(reply)
	switch err {
	case nil:
		// Exactly one response message, then the trailers.
		if _, err = cs.RecvMsg(nil); err == io.EOF {
			err = nil
		} else if err == nil {
			err = cs.end(status.Error(codes.Unimplemented, "grpc: cardinality violation: the server sent more than one response message to a unary call"))
		}
	case io.EOF:
		err = status.Error(codes.Unimplemented, "grpc: cardinality violation: the server ended a unary call with OK and no response message")
	}
	if header != nil {
		if fields, _ := cs.readHeader(); fields != nil && !cs.st.TrailersOnly() {
			*header = headerMD(fields)
		} else {
			*header = metadata.MD{}
		}
	}
	if trailer != nil {
		*trailer = cs.Trailer()
	}
	return reply, err
}
