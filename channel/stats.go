package channel

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/peer"
	"github.com/h2rpc/h2rpc/channel/stats"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/hpack"
	"github.com/h2rpc/h2rpc/stream"
)

// WithStatsHandler adds a stats handler, told of every call attempt and
// connection of the channel; several may be added, and are told in order.
func WithStatsHandler(h stats.Handler) DialOption {
	return func(o *dialOptions) {
		if h != nil {
			o.stats = append(o.stats, h)
		}
	}
}

// callStats reports the events of one call attempt (client) or call
// (server) to the stats handlers. It exists only when there are handlers:
// a call without them pays a nil check per event. Its events come from the
// call's sender and receiver, which handlers must expect; ended makes the
// End event happen once, whoever ends the attempt.
type callStats struct {
	hs     []stats.Handler
	ctx    context.Context // what the handlers' TagRPC returned
	client bool
	begin  time.Time
	ended  atomic.Bool
}

func newCallStats(hs []stats.Handler, ctx context.Context, method string, client, failFast bool) *callStats {
	s := &callStats{hs: hs, client: client, begin: time.Now()}
	info := &stats.RPCTagInfo{FullMethodName: method, FailFast: failFast}
	for _, h := range hs {
		ctx = h.TagRPC(ctx, info)
	}
	s.ctx = ctx
	return s
}

func (s *callStats) handle(ev stats.RPCStats) {
	for _, h := range s.hs {
		h.HandleRPC(s.ctx, ev)
	}
}

// end reports End once; err is the attempt's status error (nil for OK).
func (s *callStats) end(err error, trailer metadata.MD) {
	if s.ended.Swap(true) {
		return
	}
	s.handle(&stats.End{Client: s.client, BeginTime: s.begin, EndTime: time.Now(), Trailer: trailer, Error: err})
}

// listSize is a header list's size as HTTP/2 counts it (RFC 9113 6.5.2).
func listSize(fields []hpack.HeaderField) int {
	n := 0
	for _, hf := range fields {
		n += len(hf.Name) + len(hf.Value) + 32
	}
	return n
}

// payload returns the sizes of a message event: its length, its length as
// sent or received, and that with the prefix.
func payloadSizes(length, sent int) (int, int, int) { return length, sent, sent + MsgHeaderLen }

// Client side: each attempt reports from TagRPC to End.

// statsBegin starts the stats of an attempt, when the channel has
// handlers.
func (cs *ClientStream) statsBegin(transparent bool) {
	hs := cs.cc.opts.stats
	if hs == nil {
		return
	}
	s := newCallStats(hs, cs.ctx, cs.method, true, !cs.co.WaitForReady)
	s.handle(&stats.Begin{
		Client: true, BeginTime: s.begin, FailFast: !cs.co.WaitForReady,
		IsClientStream: cs.co.ClientStreams, IsServerStream: cs.co.ServerStreams,
		IsTransparentRetryAttempt: transparent,
	})
	cs.stats = s
}

// outgoingCtx is the context whose outgoing metadata the request carries:
// the handlers' tagged one when there are handlers.
func (cs *ClientStream) outgoingCtx() context.Context {
	if cs.stats != nil {
		return cs.stats.ctx
	}
	return cs.ctx
}

func (cs *ClientStream) statsOutHeader(fields []hpack.HeaderField) {
	var comp string
	if cs.sendComp != nil {
		comp = cs.sendComp.Name()
	}
	cs.stats.handle(&stats.OutHeader{Client: true, Compression: comp, Header: headerMD(fields), FullMethod: cs.method})
}

func (cs *ClientStream) statsOutPayload(p []byte, sent int) {
	ev := &stats.OutPayload{Client: true, SentTime: time.Now()}
	ev.Length, ev.CompressedLength, ev.WireLength = payloadSizes(len(p)-MsgHeaderLen, sent)
	cs.stats.handle(ev)
}

// statsInHeader reports the response headers, or the trailers of a
// Trailers-Only response.
func (cs *ClientStream) statsInHeader(fields []hpack.HeaderField) {
	if cs.st.TrailersOnly() {
		cs.stats.handle(&stats.InTrailer{Client: true, WireLength: listSize(fields), Trailer: headerMD(fields)})
		return
	}
	var enc string
	for _, hf := range fields {
		if hf.Name == "grpc-encoding" {
			enc = hf.Value
		}
	}
	cs.stats.handle(&stats.InHeader{Client: true, WireLength: listSize(fields), Compression: enc, Header: headerMD(fields)})
}

func (cs *ClientStream) statsInPayload(msg []byte) {
	ev := &stats.InPayload{Client: true, RecvTime: time.Now()}
	ev.Length, ev.CompressedLength, ev.WireLength = payloadSizes(len(msg), cs.mr.size)
	cs.stats.handle(ev)
}

func (cs *ClientStream) statsInTrailer(fields []hpack.HeaderField) {
	cs.stats.handle(&stats.InTrailer{Client: true, WireLength: listSize(fields), Trailer: headerMD(fields)})
}

// statsEnd ends the stats of the attempt, once; err is how it ended
// (io.EOF for OK).
func (cs *ClientStream) statsEnd(err error) {
	s := cs.stats
	if s == nil || s.ended.Load() {
		return
	}
	if err == io.EOF {
		err = nil
	}
	var tr metadata.MD
	if cs.st != nil {
		if cs.headerFields != nil && cs.st.TrailersOnly() {
			tr = headerMD(cs.headerFields)
		} else if t := cs.st.Trailer(); t != nil {
			tr = headerMD(t)
		}
	}
	s.end(err, tr)
}

// Server side: the call reports from TagRPC to End.

// serverStats starts the stats of a server call: TagRPC, whose context
// becomes the handler's, then InHeader and Begin.
func (ss *ServerStream) statsBegin(hs []stats.Handler, enc string) {
	s := newCallStats(hs, ss.ctx, ss.method, false, false)
	ss.stats, ss.ctx = s, s.ctx
	fields, _ := ss.st.Header()
	ev := &stats.InHeader{WireLength: listSize(fields), Compression: enc, FullMethod: ss.method, Header: incomingOf(ss)}
	if p, ok := peer.FromContext(ss.base); ok {
		ev.RemoteAddr, ev.LocalAddr = p.Addr, p.LocalAddr
	}
	s.handle(ev)
	s.handle(&stats.Begin{BeginTime: s.begin})
}

func (ss *ServerStream) statsOutHeader(fields []hpack.HeaderField) {
	var comp string
	if ss.sendComp != nil {
		comp = ss.sendComp.Name()
	}
	ss.stats.handle(&stats.OutHeader{Compression: comp, Header: headerMD(fields)})
}

func (ss *ServerStream) statsOutPayload(p []byte, sent int) {
	ev := &stats.OutPayload{SentTime: time.Now()}
	ev.Length, ev.CompressedLength, ev.WireLength = payloadSizes(len(p)-MsgHeaderLen, sent)
	ss.stats.handle(ev)
}

func (ss *ServerStream) statsInPayload(msg []byte) {
	ev := &stats.InPayload{RecvTime: time.Now()}
	ev.Length, ev.CompressedLength, ev.WireLength = payloadSizes(len(msg), ss.mr.size)
	ss.stats.handle(ev)
}

// statsFinish reports the end of a server call: its trailers (fields),
// unless writing them failed, then End with err, the call's status. Every
// call ends through it once: serveCall finishes whatever its handler left.
func (ss *ServerStream) statsFinish(fields []hpack.HeaderField, err error) {
	if fields != nil {
		ss.stats.handle(&stats.OutTrailer{WireLength: listSize(fields), Trailer: headerMD(fields)})
	}
	ss.stats.end(err, ss.trailer)
}

// statusCopy returns the error of a copy of st, so that what handlers keep
// of it never makes the caller's status escape.
func statusCopy(st *status.Status) error {
	if st.Code() == codes.OK {
		return nil
	}
	if st.HasDetails() {
		if c, err := status.UnmarshalProto(st.MarshalProto()); err == nil {
			return c.Err()
		}
	}
	return status.New(st.Code(), st.Message()).Err()
}

// Connections.

// addr is a net.Addr of a dialled address, for ConnTagInfo.
type addr struct{ network, s string }

func (a addr) Network() string { return a.network }
func (a addr) String() string  { return a.s }

// connStats tells the handlers of a connection's begin, and of its end
// once done is closed; wait, when not nil, counts the goroutine that
// waits for it.
func connStats(hs []stats.Handler, client bool, remote, local net.Addr, done <-chan struct{}, track func(func())) {
	ctx := context.Background()
	info := &stats.ConnTagInfo{RemoteAddr: remote, LocalAddr: local}
	for _, h := range hs {
		ctx = h.TagConn(ctx, info)
	}
	for _, h := range hs {
		h.HandleConn(ctx, &stats.ConnBegin{Client: client})
	}
	track(func() {
		<-done
		for _, h := range hs {
			h.HandleConn(ctx, &stats.ConnEnd{Client: client})
		}
	})
}

// connStats reports a subchannel's new connection c, and its end.
func (sc *subConn) connStats(hs []stats.Handler, c *stream.Conn) {
	connStats(hs, true, addr{"tcp", sc.addr.Addr}, nil, c.Done(), func(f func()) {
		sc.cc.wg.Add(1)
		go func() {
			defer sc.cc.wg.Done()
			f()
		}()
	})
}
