package channel

import (
	"context"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/peer"
	"github.com/h2rpc/h2rpc/channel/stats"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/codec"
	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
	"github.com/h2rpc/h2rpc/internal/headers"
	"github.com/h2rpc/h2rpc/stream"
)

// ServerConfig holds the settings of a server's connections.
type ServerConfig struct {
	// Conn sets the HTTP/2 parameters.
	Conn stream.Config
	// MaxRecvMsgSize is the largest message a call receives (default
	// 4 MiB); larger ones end the call with RESOURCE_EXHAUSTED.
	MaxRecvMsgSize int
	// MaxSendMsgSize is the largest message a call sends (default
	// unlimited).
	MaxSendMsgSize int
	// RecoverPanics ends a call whose handler panics with INTERNAL instead
	// of letting the panic crash the process.
	RecoverPanics bool
	// Fallback, when set, takes the requests that are not gRPC (a method
	// other than POST, a content-type other than application/grpc...),
	// on the stream's own goroutine with a context that carries the peer,
	// instead of the 405/415 answer. When it returns, whatever of the
	// stream is still open is reset.
	Fallback func(ctx context.Context, st *stream.Stream)
	// StatsHandlers are told of every call and connection, in order.
	StatsHandlers []stats.Handler
}

// ServerHandler serves one call. It runs on its own goroutine and ends
// the call with Finish; a call it leaves unfinished ends with UNKNOWN.
type ServerHandler func(*ServerStream)

// ServerTransport is what the server side of a call needs from whatever
// carries it: the request's head and header list, its body, header lists
// out (response headers, and trailers with endStream), message bytes
// out, a way to abort, and a channel closed when the call is over.
// *stream.Stream is one (the HTTP/2 path of ServeConn, unchanged by the
// seam: a call makes the same writes and the same allocations through
// it); net/http for ServeHTTP and gRPC-Web is another, in the stub
// package.
//
// The call reads from one goroutine and writes from one goroutine (its
// writes are serialized); Reset may come from a timer at any time, even
// after the call ended, and must then do nothing harmful.
type ServerTransport interface {
	// Request returns the request's method, path and authority.
	Request() hpack.RequestHead
	// Header returns the request's header list, names in lowercase
	// (pseudo-headers may be in it; they are ignored).
	Header() ([]hpack.HeaderField, error)
	// Read reads the request body: message bytes, io.EOF at its end.
	Read(p []byte) (int, error)
	// WriteHeaders sends the response headers (":status" first, then
	// "content-type", then the rest), or, with endStream, the trailers
	// ("grpc-status" first). A Trailers-Only response is a single
	// WriteHeaders with endStream whose list starts with ":status".
	WriteHeaders(fields []hpack.HeaderField, endStream, flush bool) error
	// WriteData sends message bytes, each message with its 5-byte prefix.
	WriteData(p []byte, endStream, flush bool) error
	// Reset aborts the call; frame.ErrCodeNo after the trailers were
	// written (the request body is no longer wanted).
	Reset(code frame.ErrCode)
	// Done is closed when the call is over: finished, reset, or its
	// client gone.
	Done() <-chan struct{}
}

var _ ServerTransport = (*stream.Stream)(nil)

// CallServer runs calls through a ServerHandler over any ServerTransport,
// with the limits of a ServerConfig. ServeConn makes one per connection;
// a server mounted in net/http keeps one for all its requests.
type CallServer struct {
	h       ServerHandler
	maxRecv int
	maxSend int
	recover bool
	eager   atomic.Int64    // see msgReader.eager
	stats   []stats.Handler // nil: no stats work at all
}

// NewCallServer returns a CallServer for h with the message limits and
// panic policy of cfg (nil for the defaults); cfg.Conn is not used.
func NewCallServer(cfg *ServerConfig, h ServerHandler) *CallServer {
	cs := new(CallServer)
	cs.init(cfg, h)
	return cs
}

func (cs *CallServer) init(cfg *ServerConfig, h ServerHandler) {
	if cfg == nil {
		cfg = &ServerConfig{}
	}
	cs.h, cs.maxRecv, cs.maxSend, cs.recover = h, cfg.MaxRecvMsgSize, cfg.MaxSendMsgSize, cfg.RecoverPanics
	cs.stats = cfg.StatsHandlers
	if cs.maxRecv <= 0 {
		cs.maxRecv = DefaultMaxRecvMsgSize
	}
	if cs.maxSend <= 0 {
		cs.maxSend = math.MaxInt32
	}
}

// ServeCall serves one call carried by t, in the caller's goroutine; it
// returns when the call has ended. base supplies the call context's
// values (the peer, for one); its cancellation is not watched: a
// transport reports its end through Done. A request that is not gRPC
// (another method, another content-type) gets a Trailers-Only INTERNAL
// answer; sort those out before calling.
func (cs *CallServer) ServeCall(base context.Context, t ServerTransport) {
	base = metadata.NewIncomingContextFunc(base, incomingOf)
	req := t.Request()
	fields, _ := t.Header()
	ct, enc, timeout, userMD := scanFields(fields)
	subtype, isGRPC := contentSubtype(ct)
	if !isGRPC || req.Method != "POST" {
		ss := &ServerStream{st: t, base: base, subtype: subtype}
		ss.ctx = ss
		ss.Finish(status.Newf(codes.Internal, "grpc: not a gRPC request (%s, content-type %q)", req.Method, ct))
		return
	}
	cs.serveCall(base, t, req.Path, subtype, enc, timeout, userMD)
}

// ServerConn is one server connection carrying gRPC calls.
type ServerConn struct {
	c        *stream.Conn
	calls    CallServer
	base     context.Context // carries the peer
	fallback func(context.Context, *stream.Stream)
}

// ServeConn serves calls on nc, which has been through the credentials'
// handshake (authInfo describes it; nil for none). Requests that are not
// gRPC go to cfg.Fallback, or get an HTTP error with a short text. It
// returns at once.
func ServeConn(nc net.Conn, cfg *ServerConfig, authInfo credentials.AuthInfo, h ServerHandler) *ServerConn {
	if cfg == nil {
		cfg = &ServerConfig{}
	}
	sc := &ServerConn{fallback: cfg.Fallback}
	sc.calls.init(cfg, h)
	sc.base = peer.NewContext(context.Background(), &peer.Peer{Addr: nc.RemoteAddr(), LocalAddr: nc.LocalAddr(), AuthInfo: authInfo})
	sc.base = metadata.NewIncomingContextFunc(sc.base, incomingOf)
	connCfg := cfg.Conn
	sc.c = stream.NewServerConn(nc, &connCfg, sc.serve)
	if hs := cfg.StatsHandlers; hs != nil {
		connStats(hs, false, nc.RemoteAddr(), nc.LocalAddr(), sc.c.Done(), func(f func()) { go f() })
	}
	return sc
}

// Shutdown closes the connection gracefully: calls in progress finish,
// new ones are refused; it returns when none is left or ctx ends.
func (sc *ServerConn) Shutdown(ctx context.Context) error { return sc.c.Shutdown(ctx) }

// Close closes the connection at once; calls in progress fail.
func (sc *ServerConn) Close() error { return sc.c.Close() }

// Done is closed once the connection has closed.
func (sc *ServerConn) Done() <-chan struct{} { return sc.c.Done() }

// Wait blocks until every handler of the connection has returned.
func (sc *ServerConn) Wait() { sc.c.Wait() }

// ServerStream is one call on the server side, at the level of message
// bytes. It is also the call's context (deadline, cancellation, values).
//
// Who touches it when: the call is owned by its handler run. serveCall
// builds it on the transport's goroutine (the stream's handler goroutine
// on HTTP/2, net/http's for ServeHTTP and gRPC-Web), runs the
// ServerHandler, and when that returns ends the call itself if the
// handler did not (UNKNOWN); after it the transport ends whatever is
// still open (the stream layer resets it). RecvMsg
// belongs to one goroutine and the sending methods (SendMsg, SendHeader,
// Finish...) to one goroutine, possibly another; the sending side is
// serialized by wmu with the deadline timer, which may fire at any time,
// even after the handler returned: it then finds the call finished and
// resets only a transport that has already ended, which does nothing.
// ServerStreams are never pooled, so a late timer or a context callback
// registered by a handler never reaches another call.
type ServerStream struct {
	st          ServerTransport
	base        context.Context // values: the peer, incoming metadata
	ctx         context.Context
	method      string
	subtype     string
	deadline    time.Time
	hasDeadline bool
	deadlineHit atomic.Bool
	timer       *time.Timer
	mr          msgReader
	maxSend     int
	userMD      int // number of user metadata fields received
	mdOnce      sync.Once
	md          metadata.MD // received metadata, built on first use

	wmu        sync.Mutex // serializes the sending side with the deadline timer
	sendComp   codec.Compressor
	noCompress bool
	headerSent bool
	finished   bool
	header     metadata.MD
	trailer    metadata.MD
	fields     [10]hpack.HeaderField
	stats      *callStats // nil without handlers
}

type serverStreamKey struct{}

// ServerStreamFromContext returns the call of a handler's context, or nil.
func ServerStreamFromContext(ctx context.Context) *ServerStream {
	ss, _ := ctx.Value(serverStreamKey{}).(*ServerStream)
	return ss
}

// Deadline implements context.Context: the deadline from grpc-timeout.
func (ss *ServerStream) Deadline() (time.Time, bool) { return ss.deadline, ss.hasDeadline }

// Done implements context.Context: closed when the call ends (the client
// cancelled, the deadline passed, the connection failed, or the call
// finished).
func (ss *ServerStream) Done() <-chan struct{} { return ss.st.Done() }

// Err implements context.Context.
func (ss *ServerStream) Err() error {
	select {
	case <-ss.st.Done():
		if ss.deadlineHit.Load() || ss.hasDeadline && !time.Now().Before(ss.deadline) {
			return context.DeadlineExceeded
		}
		return context.Canceled
	default:
		return nil
	}
}

// Value implements context.Context.
func (ss *ServerStream) Value(key any) any {
	if key == (serverStreamKey{}) {
		return ss
	}
	return ss.base.Value(key)
}

// Context returns the call's context: its deadline, cancellation, incoming
// metadata (metadata.FromIncomingContext), peer (peer.FromContext) and the
// call itself (ServerStreamFromContext).
func (ss *ServerStream) Context() context.Context { return ss.ctx }

// Method returns the full method name, "/package.Service/Method".
func (ss *ServerStream) Method() string { return ss.method }

// ContentSubtype returns the codec the client chose: "proto" for plain
// application/grpc, or what follows "application/grpc+".
func (ss *ServerStream) ContentSubtype() string { return ss.subtype }

// LastRecvCompressed reports whether the last message received carried
// the compressed flag.
func (ss *ServerStream) LastRecvCompressed() bool { return ss.mr.compressed }

// serve runs on the stream's own goroutine.
func (sc *ServerConn) serve(st *stream.Stream) {
	req := st.Request()
	fields, _ := st.Header()
	ct, enc, timeout, userMD := scanFields(fields)
	subtype, isGRPC := contentSubtype(ct)
	if req.Method != "POST" || !isGRPC {
		if sc.fallback != nil {
			sc.fallback(sc.base, st)
			return
		}
		answerHTTP(st, req.Method, isGRPC)
		return
	}
	sc.calls.serveCall(sc.base, st, req.Path, subtype, enc, timeout, userMD)
}

// scanFields picks out of a request header list what a call needs at
// once, and counts the user's metadata fields.
func scanFields(fields []hpack.HeaderField) (ct, enc, timeout string, userMD int) {
	for _, hf := range fields {
		switch hf.Name {
		case "content-type":
			ct = hf.Value
		case "grpc-encoding":
			enc = hf.Value
		case "grpc-timeout":
			timeout = hf.Value
		default:
			if headers.Visible(hf.Name) {
				userMD++
			}
		}
	}
	return ct, enc, timeout, userMD
}

// serveCall serves a gRPC request for path over t.
func (cs *CallServer) serveCall(base context.Context, t ServerTransport, path, subtype, enc, timeout string, userMD int) {
	ss := &ServerStream{st: t, base: base, method: path, subtype: subtype, maxSend: cs.maxSend, userMD: userMD}
	ss.mr.r = t
	ss.mr.limit = cs.maxRecv
	ss.mr.eager = &cs.eager
	ss.ctx = ss
	if cs.stats != nil {
		ss.statsBegin(cs.stats, enc)
	}
	switch {
	case !validMethod(path):
		ss.Finish(status.Newf(codes.Unimplemented, "malformed method name: %q", path))
		return
	case enc != "" && enc != "identity":
		ss.mr.decomp = codec.GetCompressor(enc)
		if ss.mr.decomp == nil {
			ss.finishUnknownEncoding(enc)
			return
		}
		// Reply in the client's encoding, as grpc-go does.
		ss.sendComp = ss.mr.decomp
	}
	if timeout != "" {
		d, err := parseTimeout(timeout)
		if err != nil {
			ss.Finish(status.Newf(codes.Internal, "malformed grpc-timeout %q", timeout))
			return
		}
		ss.deadline, ss.hasDeadline = time.Now().Add(d), true
		ss.timer = time.AfterFunc(d, ss.onDeadline)
	}
	// The handler owns the call from here; whatever it leaves unended,
	// serve ends, here and nowhere else above the stream layer.
	unended := status.New(codes.Unknown, "grpc: the handler returned without ending the call")
	if p, panicked := cs.runHandler(ss); panicked {
		unended = status.Newf(codes.Internal, "grpc: handler panicked: %v", p)
	}
	if ss.timer != nil {
		ss.timer.Stop()
	}
	ss.wmu.Lock()
	finished := ss.finished
	ss.wmu.Unlock()
	if !finished {
		ss.Finish(unended)
	}
}

// runHandler runs the handler of ss; with RecoverPanics it returns what a
// panic of the handler carried, instead of letting it go on.
func (cs *CallServer) runHandler(ss *ServerStream) (p any, panicked bool) {
	if cs.recover {
		defer func() {
			if panicked {
				p = recover()
			}
		}()
	}
	panicked = true
	cs.h(ss)
	return nil, false
}

// validMethod reports whether p is "/service/method".
func validMethod(p string) bool {
	if len(p) < 4 || p[0] != '/' {
		return false
	}
	i := strings.LastIndexByte(p, '/')
	return i > 1 && i < len(p)-1
}

// incomingOf returns the received metadata of the call of ctx, building it
// the first time it is asked for.
func incomingOf(ctx context.Context) metadata.MD {
	ss := ServerStreamFromContext(ctx)
	if ss == nil {
		return nil
	}
	ss.mdOnce.Do(func() {
		fields, _ := ss.st.Header()
		ss.md = incomingMD(fields, ss.userMD, ss.st.Request().Authority)
	})
	return ss.md
}

// incomingMD builds the metadata a handler sees: the user's pairs,
// user-agent and :authority, as grpc-go shows them.
func incomingMD(fields []hpack.HeaderField, userMD int, authority string) metadata.MD {
	md := make(metadata.MD, userMD+2)
	for _, hf := range fields {
		if headers.Visible(hf.Name) {
			addIncoming(md, hf.Name, hf.Value)
		}
	}
	if authority != "" {
		md[":authority"] = []string{authority}
	}
	return md
}

// onDeadline ends a call whose deadline passed: the client learns it from
// the trailers (if the sending side is free), and the handler's context
// is cancelled.
func (ss *ServerStream) onDeadline() {
	ss.deadlineHit.Store(true)
	code := frame.ErrCodeCancel
	if ss.wmu.TryLock() {
		if !ss.finished {
			if ss.finishLocked(status.New(codes.DeadlineExceeded, "context deadline exceeded")) == nil {
				code = frame.ErrCodeNo
			}
		}
		ss.wmu.Unlock()
	}
	ss.st.Reset(code)
}

// RecvMsg receives the next request message, appended to buf[:0]. It
// returns io.EOF once the client has sent all of them.
func (ss *ServerStream) RecvMsg(buf []byte) ([]byte, error) {
	msg, err := ss.mr.next(buf)
	if err == nil && ss.stats != nil {
		ss.statsInPayload(msg)
	}
	if err == nil || err == io.EOF || isStatusError(err) {
		return msg, err
	}
	if ss.deadlineHit.Load() {
		return msg, status.Error(codes.DeadlineExceeded, "context deadline exceeded")
	}
	return msg, streamError(context.Background(), err)
}

// SetHeader adds md to the response headers; it fails once they are sent.
func (ss *ServerStream) SetHeader(md metadata.MD) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.headerSent || ss.finished {
		return status.Error(codes.Internal, "grpc: SetHeader called after the headers were sent")
	}
	ss.header = metadata.Join(ss.header, md)
	return nil
}

// SendHeader sends the response headers with md added.
func (ss *ServerStream) SendHeader(md metadata.MD) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.headerSent || ss.finished {
		return status.Error(codes.Internal, "grpc: SendHeader called twice or after the call ended")
	}
	ss.header = metadata.Join(ss.header, md)
	return ss.writeHeaderLocked(true)
}

// SetTrailer adds md to the trailers.
func (ss *ServerStream) SetTrailer(md metadata.MD) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.finished {
		return status.Error(codes.Internal, "grpc: SetTrailer called after the call ended")
	}
	ss.trailer = metadata.Join(ss.trailer, md)
	return nil
}

// SetSendCompressor sets the compressor of the response messages; it must
// be registered, and called before the headers are sent.
func (ss *ServerStream) SetSendCompressor(name string) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.headerSent {
		return status.Error(codes.Internal, "grpc: SetSendCompressor called after the headers were sent")
	}
	if name == "" || name == "identity" {
		ss.sendComp = nil
		return nil
	}
	c := codec.GetCompressor(name)
	if c == nil {
		return status.Errorf(codes.Internal, "grpc: Compressor is not installed for grpc-encoding %q", name)
	}
	ss.sendComp = c
	return nil
}

// SetMessageCompression chooses whether the following messages are
// compressed, when the call has a send compressor (they are by default).
func (ss *ServerStream) SetMessageCompression(on bool) {
	ss.wmu.Lock()
	ss.noCompress = !on
	ss.wmu.Unlock()
}

func (ss *ServerStream) writeHeaderLocked(flush bool) error {
	f := append(ss.fields[:0],
		hpack.HeaderField{Name: ":status", Value: "200"},
		hpack.HeaderField{Name: "content-type", Value: contentTypeFor(replySubtype(ss.subtype))},
	)
	if ss.sendComp != nil {
		f = append(f, hpack.HeaderField{Name: "grpc-encoding", Value: ss.sendComp.Name()})
	}
	f, err := appendMD(f, ss.header)
	if err != nil {
		return err
	}
	ss.headerSent = true
	if err := ss.st.WriteHeaders(f, false, flush); err != nil {
		return streamError(context.Background(), err)
	}
	if ss.stats != nil {
		ss.statsOutHeader(f)
	}
	return nil
}

func replySubtype(s string) string {
	if s == "proto" {
		return ""
	}
	return s
}

// appendMD appends user metadata, validated, to a header list.
func appendMD(f []hpack.HeaderField, md metadata.MD) ([]hpack.HeaderField, error) {
	var err error
	for k, vs := range md {
		for _, v := range vs {
			if f, err = appendMetadata(f, k, v); err != nil {
				return f, err
			}
		}
	}
	return f, nil
}

// SendMsg sends one response message: p holds MsgHeaderLen free bytes,
// then the message. The response headers go first if not yet sent.
func (ss *ServerStream) SendMsg(p []byte) error {
	if err := checkSendSize(p, ss.maxSend); err != nil {
		return err
	}
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	return ss.sendLocked(p, true)
}

// SendMsgAndFinish sends one response message and ends the call with st
// (nil means OK), all in one write: the reply of a unary call. If the
// message cannot be sent (too large), the call ends with that error.
func (ss *ServerStream) SendMsgAndFinish(p []byte, st *status.Status) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.finished {
		return status.Error(codes.Internal, "grpc: SendMsg called after the call ended")
	}
	if err := checkSendSize(p, ss.maxSend); err != nil {
		ss.finishLocked(status.Convert(err))
		return err
	}
	if err := ss.sendLocked(p, false); err != nil {
		return err
	}
	return ss.finishLocked(st)
}

func (ss *ServerStream) sendLocked(p []byte, flush bool) error {
	if ss.finished {
		return status.Error(codes.Internal, "grpc: SendMsg called after the call ended")
	}
	if !ss.headerSent {
		if err := ss.writeHeaderLocked(false); err != nil {
			return err
		}
	}
	var comp codec.Compressor
	if !ss.noCompress {
		comp = ss.sendComp
	}
	n, err := writeMsg(ss.st, comp, p, false, flush)
	if ss.stats != nil && !isStatusError(err) {
		ss.statsOutPayload(p, n)
	}
	if err != nil {
		if isStatusError(err) {
			return err
		}
		if ss.deadlineHit.Load() {
			return status.Error(codes.DeadlineExceeded, "context deadline exceeded")
		}
		return streamError(context.Background(), err)
	}
	return nil
}

// Finish ends the call with st (nil means OK): trailers after the
// messages, or a Trailers-Only response if nothing was sent.
func (ss *ServerStream) Finish(st *status.Status) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if ss.finished {
		return nil
	}
	return ss.finishLocked(st)
}

var statusCodeStrings = func() (s [17]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return
}()

func codeString(c codes.Code) string {
	if int(c) < len(statusCodeStrings) {
		return statusCodeStrings[c]
	}
	return strconv.FormatUint(uint64(c), 10)
}

func (ss *ServerStream) finishLocked(st *status.Status) error {
	ss.finished = true
	if !ss.headerSent && len(ss.header) > 0 {
		// Headers set but not sent, and no message: they still go first.
		if err := ss.writeHeaderLocked(false); err != nil {
			return err
		}
	}
	var f []hpack.HeaderField
	if !ss.headerSent {
		// Trailers-Only.
		f = append(ss.fields[:0],
			hpack.HeaderField{Name: ":status", Value: "200"},
			hpack.HeaderField{Name: "content-type", Value: contentTypeFor(replySubtype(ss.subtype))},
		)
		ss.headerSent = true
	} else {
		f = ss.fields[:0]
	}
	f = append(f, hpack.HeaderField{Name: "grpc-status", Value: codeString(st.Code())})
	if msg := st.Message(); msg != "" {
		f = append(f, hpack.HeaderField{Name: "grpc-message", Value: status.EncodeMessage(msg)})
	}
	if st.HasDetails() {
		f = append(f, hpack.HeaderField{Name: "grpc-status-details-bin", Value: metadata.EncodeBinary(st.MarshalProto())})
	}
	f, err := appendMD(f, ss.trailer)
	if err != nil {
		f = append(f[:0], hpack.HeaderField{Name: "grpc-status", Value: codeString(codes.Internal)},
			hpack.HeaderField{Name: "grpc-message", Value: status.EncodeMessage(err.Error())})
	}
	if err := ss.st.WriteHeaders(f, true, true); err != nil {
		err = streamError(context.Background(), err)
		if ss.stats != nil {
			ss.statsFinish(nil, err)
		}
		return err
	}
	if ss.stats != nil {
		ss.statsFinish(f, statusCopy(st))
	}
	return nil
}

// finishUnknownEncoding refuses a request in an encoding we do not know,
// telling the client which ones we do (PROTOCOL-HTTP2).
func (ss *ServerStream) finishUnknownEncoding(enc string) {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	ss.finished, ss.headerSent = true, true
	f := append(ss.fields[:0],
		hpack.HeaderField{Name: ":status", Value: "200"},
		hpack.HeaderField{Name: "content-type", Value: contentTypeFor(replySubtype(ss.subtype))},
		hpack.HeaderField{Name: "grpc-status", Value: codeString(codes.Unimplemented)},
		hpack.HeaderField{Name: "grpc-message", Value: status.EncodeMessage("grpc: Decompressor is not installed for grpc-encoding \"" + enc + "\"")},
		hpack.HeaderField{Name: "grpc-accept-encoding", Value: codec.AcceptEncoding()},
	)
	ss.st.WriteHeaders(f, true, true)
	if ss.stats != nil {
		ss.statsFinish(f, status.Error(codes.Unimplemented, "grpc: Decompressor is not installed for grpc-encoding \""+enc+"\""))
	}
}

// maxFallbackBody bounds how much of a non-gRPC request body is read
// before answering.
const maxFallbackBody = 1 << 20

// answerHTTP answers a request that is not gRPC with an HTTP error and a
// short text, after reading its body: 405 for a method other than POST,
// 415 for another content-type, 413 for a body over 1 MiB.
func answerHTTP(st *stream.Stream, method string, isGRPC bool) {
	n, err := io.Copy(io.Discard, io.LimitReader(st, maxFallbackBody+1))
	if err != nil {
		return // the stream was reset
	}
	code, body := "415", "h2rpc: this is a gRPC server; send gRPC requests (content-type application/grpc)\n"
	extra := hpack.HeaderField{}
	switch {
	case n > maxFallbackBody:
		code, body = "413", "h2rpc: request body too large\n"
	case method != "POST":
		code, body = "405", "h2rpc: this is a gRPC server; it accepts only POST with content-type application/grpc\n"
		extra = hpack.HeaderField{Name: "allow", Value: "POST"}
	}
	fields := []hpack.HeaderField{
		{Name: ":status", Value: code},
		{Name: "content-type", Value: "text/plain; charset=utf-8"},
		{Name: "content-length", Value: strconv.Itoa(len(body))},
	}
	if extra.Name != "" {
		fields = append(fields, extra)
	}
	if st.WriteHeaders(fields, false, false) != nil {
		return
	}
	st.WriteData([]byte(body), true, true)
}
