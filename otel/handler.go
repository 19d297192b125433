package otelh2rpc

import (
	"context"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/stats"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stub"
	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// attempt is what a handler keeps of one client call attempt or server
// call, in the context its TagRPC returns. Its sizes are added to by the
// call's sender and receiver, which may be two goroutines.
type attempt struct {
	span   trace.Span // nil without tracing
	method string     // the grpc.method label
	target string     // the grpc.target label (client)
	sent   atomic.Int64
	rcvd   atomic.Int64
}

type attemptKey struct{}

// record records the duration and sizes of an attempt or call that ended.
func (a *attempt) record(ctx context.Context, e *stats.End, dur metric.Float64Histogram, sent, rcvd metric.Int64Histogram, o metric.MeasurementOption) {
	dur.Record(ctx, e.EndTime.Sub(e.BeginTime).Seconds(), o)
	sent.Record(ctx, a.sent.Load(), o)
	rcvd.Record(ctx, a.rcvd.Load(), o)
}

// endSpan ends the span with its status code, in error if failed.
func (a *attempt) endSpan(st *status.Status, code string, failed bool) {
	if a.span == nil {
		return
	}
	if failed {
		a.span.SetStatus(otelcodes.Error, st.Message())
	}
	a.span.SetAttributes(semconv.RPCResponseStatusCode(code))
	a.span.End()
}

// callInfo is what the client interceptors tell the attempts of a call.
type callInfo struct{ method, target string }

type callKey struct{}

// spanStart returns a span's name and attributes for a method, as the RPC
// semantic conventions give them: "package.Service/Method".
func spanStart(fullMethod string) (string, []attribute.KeyValue) {
	name := strings.TrimPrefix(fullMethod, "/")
	return name, []attribute.KeyValue{semconv.RPCMethod(name), semconv.RPCSystemNameGRPC}
}

// hostPortAttrs returns server.address and server.port of "host:port".
func hostPortAttrs(hostport string) []attribute.KeyValue {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddress(hostport)}
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddress(h)}
	}
	return []attribute.KeyValue{semconv.ServerAddress(h), semconv.ServerPort(port)}
}

// targetAttrs returns server.address and server.port of a dial target
// ("host:port", or a URI whose endpoint is one).
func targetAttrs(target string) []attribute.KeyValue {
	if _, _, err := net.SplitHostPort(target); err == nil && !strings.Contains(target, "/") {
		return hostPortAttrs(target)
	}
	u, err := url.Parse(target)
	if err != nil {
		return []attribute.KeyValue{semconv.ServerAddress(target)}
	}
	ep := u.Path
	if u.Scheme != "unix" && u.Scheme != "unix-abstract" {
		ep = strings.TrimPrefix(ep, "/")
	}
	if ep == "" {
		ep = u.Opaque
	}
	if ep == "" {
		return []attribute.KeyValue{semconv.ServerAddress(target)}
	}
	return hostPortAttrs(ep)
}

// ClientHandler is a client's stats handler: a span and A66's attempt
// metrics for every call attempt. DialOptions installs it with the
// interceptors that record each call's duration and labels.
type ClientHandler struct {
	cfg    *config
	tracer trace.Tracer
	m      *clientMetrics
}

// NewClientHandler returns a client stats handler.
func NewClientHandler(opts ...Option) *ClientHandler {
	c := newConfig(opts)
	h := &ClientHandler{cfg: c}
	if !c.noTrace {
		h.tracer = c.tp.Tracer(ScopeName)
	}
	if !c.noMeter {
		h.m = newClientMetrics(c.mp)
	}
	return h
}

// DialOptions returns the options that instrument a client: the stats
// handler and the interceptors of call duration.
func DialOptions(opts ...Option) []stub.DialOption {
	h := NewClientHandler(opts...)
	return []stub.DialOption{
		stub.WithStatsHandler(h),
		stub.WithChainUnaryInterceptor(h.UnaryInterceptor),
		stub.WithChainStreamInterceptor(h.StreamInterceptor),
	}
}

// methodLabel is a client call's grpc.method: its name for generated code
// (stub.StaticMethod), else "other".
func methodLabel(method string, opts []stub.CallOption) string {
	for _, o := range opts {
		if _, ok := o.(stub.StaticMethodCallOption); ok {
			return strings.TrimPrefix(method, "/")
		}
	}
	return "other"
}

// TagRPC implements stats.Handler: it starts the attempt's span, puts its
// context in the request's metadata, and counts the attempt.
func (h *ClientHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	a := &attempt{method: "other"}
	if ci, ok := ctx.Value(callKey{}).(*callInfo); ok {
		a.method, a.target = ci.method, ci.target
	}
	if h.tracer != nil {
		name, attrs := spanStart(info.FullMethodName)
		if a.target != "" {
			attrs = append(attrs, targetAttrs(a.target)...)
		}
		ctx, a.span = h.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
		var c outCarrier
		h.cfg.prop.Inject(ctx, &c)
		if len(c) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, c...)
		}
	}
	if h.m != nil {
		h.m.attemptStarted.Add(ctx, 1, h.m.sets.get(attrKey{a.method, a.target, ""}))
	}
	return context.WithValue(ctx, attemptKey{}, a)
}

// HandleRPC implements stats.Handler.
func (h *ClientHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	a, ok := ctx.Value(attemptKey{}).(*attempt)
	if !ok {
		return
	}
	switch s := s.(type) {
	case *stats.OutPayload:
		a.sent.Add(int64(s.CompressedLength))
	case *stats.InPayload:
		a.rcvd.Add(int64(s.CompressedLength))
	case *stats.End:
		st := status.Convert(s.Error)
		code := canonicalString(st.Code())
		if h.m != nil {
			a.record(ctx, s, h.m.attemptDur, h.m.attemptSent, h.m.attemptRcvd, h.m.sets.get(attrKey{a.method, a.target, code}))
		}
		a.endSpan(st, code, s.Error != nil)
	}
}

// TagConn implements stats.Handler.
func (h *ClientHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn implements stats.Handler.
func (h *ClientHandler) HandleConn(context.Context, stats.ConnStats) {}

// UnaryInterceptor records the call's duration (grpc.client.call.duration)
// and tells its attempts their labels.
func (h *ClientHandler) UnaryInterceptor(ctx context.Context, method string, req, reply any, cc *stub.ClientConn, invoker stub.UnaryInvoker, opts ...stub.CallOption) error {
	ci := &callInfo{method: methodLabel(method, opts), target: cc.CanonicalTarget()}
	start := time.Now()
	err := invoker(context.WithValue(ctx, callKey{}, ci), method, req, reply, cc, opts...)
	h.callEnd(ctx, ci, start, err)
	return err
}

// StreamInterceptor is UnaryInterceptor for streaming calls: the call ends
// when its stream reports its status.
func (h *ClientHandler) StreamInterceptor(ctx context.Context, desc *stub.StreamDesc, cc *stub.ClientConn, method string, streamer stub.Streamer, opts ...stub.CallOption) (stub.ClientStream, error) {
	ci := &callInfo{method: methodLabel(method, opts), target: cc.CanonicalTarget()}
	start := time.Now()
	cs, err := streamer(context.WithValue(ctx, callKey{}, ci), desc, cc, method, opts...)
	if err != nil {
		h.callEnd(ctx, ci, start, err)
		return nil, err
	}
	return &clientStream{ClientStream: cs, end: func(err error) { h.callEnd(ctx, ci, start, err) }}, nil
}

func (h *ClientHandler) callEnd(ctx context.Context, ci *callInfo, start time.Time, err error) {
	if h.m == nil {
		return
	}
	code := canonicalString(status.Code(err))
	h.m.callDur.Record(ctx, time.Since(start).Seconds(), h.m.sets.get(attrKey{ci.method, ci.target, code}))
}

// clientStream reports the end of a streaming call once: when RecvMsg
// returns its status (io.EOF for OK).
type clientStream struct {
	stub.ClientStream
	once sync.Once
	end  func(error)
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.once.Do(func() {
			if err == io.EOF {
				err = nil
			}
			s.end(err)
		})
	}
	return err
}

// ServerHandler is a server's stats handler: a span and A66's call metrics
// for every call. Tell it the server with SetServer, so that it names the
// registered methods; it names every method "other" until then.
type ServerHandler struct {
	cfg     *config
	tracer  trace.Tracer
	m       *serverMetrics
	srv     atomic.Pointer[stub.Server]
	methods atomic.Pointer[map[string]bool]
}

// NewServerHandler returns a server stats handler.
func NewServerHandler(opts ...Option) *ServerHandler {
	c := newConfig(opts)
	h := &ServerHandler{cfg: c}
	if !c.noTrace {
		h.tracer = c.tp.Tracer(ScopeName)
	}
	if !c.noMeter {
		h.m = newServerMetrics(c.mp)
	}
	return h
}

// ServerOptions returns the server option that installs h.
func (h *ServerHandler) ServerOptions() []stub.ServerOption {
	return []stub.ServerOption{stub.StatsHandler(h)}
}

// SetServer tells h the server whose registered methods are named in
// metrics (A66: the others are "other", so that a client cannot make the
// labels grow without bound).
func (h *ServerHandler) SetServer(s *stub.Server) {
	h.srv.Store(s)
	h.methods.Store(nil)
}

// methodLabel is a server call's grpc.method.
func (h *ServerHandler) methodLabel(method string) string {
	ms := h.methods.Load()
	if ms == nil {
		s := h.srv.Load()
		if s == nil {
			return "other"
		}
		set := map[string]bool{}
		for name, info := range s.GetServiceInfo() {
			for _, m := range info.Methods {
				set["/"+name+"/"+m.Name] = true
			}
		}
		h.methods.Store(&set)
		ms = &set
	}
	if (*ms)[method] {
		return strings.TrimPrefix(method, "/")
	}
	return "other"
}

// TagRPC implements stats.Handler: it continues the client's trace from
// the request's metadata, starts the call's span and counts the call.
func (h *ServerHandler) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	a := &attempt{method: h.methodLabel(info.FullMethodName)}
	if h.tracer != nil {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			ctx = h.cfg.prop.Extract(ctx, carrier(md))
		}
		name, attrs := spanStart(info.FullMethodName)
		ctx, a.span = h.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	}
	if h.m != nil {
		h.m.callStarted.Add(ctx, 1, h.m.sets.get(attrKey{method: a.method}))
	}
	return context.WithValue(ctx, attemptKey{}, a)
}

// HandleRPC implements stats.Handler.
func (h *ServerHandler) HandleRPC(ctx context.Context, s stats.RPCStats) {
	a, ok := ctx.Value(attemptKey{}).(*attempt)
	if !ok {
		return
	}
	switch s := s.(type) {
	case *stats.InHeader:
		if a.span != nil && s.LocalAddr != nil {
			a.span.SetAttributes(hostPortAttrs(s.LocalAddr.String())...)
		}
	case *stats.OutPayload:
		a.sent.Add(int64(s.CompressedLength))
	case *stats.InPayload:
		a.rcvd.Add(int64(s.CompressedLength))
	case *stats.End:
		st := status.Convert(s.Error)
		code := canonicalString(st.Code())
		if h.m != nil {
			a.record(ctx, s, h.m.callDur, h.m.callSent, h.m.callRcvd, h.m.sets.get(attrKey{method: a.method, status: code}))
		}
		a.endSpan(st, code, serverError(st.Code()))
	}
}

// TagConn implements stats.Handler.
func (h *ServerHandler) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

// HandleConn implements stats.Handler.
func (h *ServerHandler) HandleConn(context.Context, stats.ConnStats) {}
