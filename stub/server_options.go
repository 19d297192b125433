package stub

import (
	"net/http"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/keepalive"
	"github.com/h2rpc/h2rpc/stream"
)

// ServerOption configures a Server.
type ServerOption func(*serverOptions)

type serverOptions struct {
	creds          credentials.TransportCredentials
	unaryInts      []UnaryServerInterceptor
	streamInts     []StreamServerInterceptor
	maxRecvMsgSize int
	maxSendMsgSize int
	maxStreams     uint32
	connTimeout    time.Duration
	unknownHandler StreamHandler
	recoverPanics  bool
	floodBudget    int
	blockedPerConn int
	blockedTotal   int64
	tuning         []func(*Server) // connection settings, applied in order
	keepalive      keepalive.ServerParameters
	enforcement    keepalive.EnforcementPolicy
	httpHandler    http.Handler // WithHTTPHandler
	web            *webConfig   // WithGRPCWeb
}

// Creds secures the server's connections with c, e.g.
// credentials.NewServerTLSFromFile. Without it the server speaks h2c.
func Creds(c credentials.TransportCredentials) ServerOption {
	return func(o *serverOptions) { o.creds = c }
}

// UnaryInterceptor sets the server's unary interceptor. It runs before
// those of ChainUnaryInterceptor.
func UnaryInterceptor(i UnaryServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.unaryInts = append([]UnaryServerInterceptor{i}, o.unaryInts...) }
}

// ChainUnaryInterceptor adds unary interceptors; the first one is the
// outermost.
func ChainUnaryInterceptor(is ...UnaryServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.unaryInts = append(o.unaryInts, is...) }
}

// StreamInterceptor sets the server's stream interceptor. It runs before
// those of ChainStreamInterceptor.
func StreamInterceptor(i StreamServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.streamInts = append([]StreamServerInterceptor{i}, o.streamInts...) }
}

// ChainStreamInterceptor adds stream interceptors; the first one is the
// outermost.
func ChainStreamInterceptor(is ...StreamServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.streamInts = append(o.streamInts, is...) }
}

// MaxRecvMsgSize sets the largest message the server receives (default
// 4 MiB); larger ones end the call with codes.ResourceExhausted.
func MaxRecvMsgSize(bytes int) ServerOption {
	return func(o *serverOptions) { o.maxRecvMsgSize = bytes }
}

// MaxSendMsgSize sets the largest message the server sends (default no
// limit); larger ones fail with codes.ResourceExhausted.
func MaxSendMsgSize(bytes int) ServerOption {
	return func(o *serverOptions) { o.maxSendMsgSize = bytes }
}

// MaxConcurrentStreams limits the calls a client may have open at once on
// one connection (default 256).
func MaxConcurrentStreams(n uint32) ServerOption {
	return func(o *serverOptions) { o.maxStreams = n }
}

// ConnectionTimeout bounds the credentials handshake of a new connection
// (default 120 seconds).
func ConnectionTimeout(d time.Duration) ServerOption {
	return func(o *serverOptions) { o.connTimeout = d }
}

// UnknownServiceHandler serves the calls of unregistered services and
// methods, as a streaming call, instead of answering codes.Unimplemented.
// It sees interceptors like any streaming call. Proxies use it.
func UnknownServiceHandler(h StreamHandler) ServerOption {
	return func(o *serverOptions) { o.unknownHandler = h }
}

// RecoverHandlerPanics turns a panic in a method handler (or interceptor)
// into the end of that call with codes.Internal, instead of a crash of the
// process. Off by default, as in grpc-go: a panic usually means state that
// cannot be trusted any more.
func RecoverHandlerPanics() ServerOption {
	return func(o *serverOptions) { o.recoverPanics = true }
}

// FloodBudget sets how many frames that make no progress (streams reset
// before their response, SETTINGS, PINGs while no data flows, empty
// frames, PRIORITY, frames that earn a stream reset) a client may send in
// a burst before its connection is closed with GOAWAY ENHANCE_YOUR_CALM.
// The allowance refills by a tenth of n per second and by one for each
// call answered. Default 1000; negative turns the check off.
func FloodBudget(n int) ServerOption {
	return func(o *serverOptions) { o.floodBudget = n }
}

// MaxBlockedSendBytes bounds the bytes of responses that handlers may hold
// while they wait for clients to open their flow-control windows: perConn
// on each connection (default 64 MiB; a single message larger than it
// still goes) and total over the whole server (default 256 MiB). A send
// that would pass either ends its call with codes.ResourceExhausted.
// Zero keeps the default, negative means no limit.
func MaxBlockedSendBytes(perConn int, total int64) ServerOption {
	return func(o *serverOptions) { o.blockedPerConn, o.blockedTotal = perConn, total }
}

// KeepaliveParams sets how the server pings idle clients and how long its
// connections may live and idle (gRFC A9); see keepalive.ServerParameters
// for the defaults and the limits. A positive Time below one second is
// raised to one second, as in grpc-go.
func KeepaliveParams(kp keepalive.ServerParameters) ServerOption {
	if kp.Time > 0 && kp.Time < minServerKeepaliveTime {
		kp.Time = minServerKeepaliveTime
	}
	return func(o *serverOptions) { o.keepalive = kp }
}

// KeepaliveEnforcementPolicy sets which client pings the server accepts
// (gRFC A8); without it the server applies keepalive.EnforcementPolicy's
// defaults. A client that breaks the policy is sent GOAWAY
// ENHANCE_YOUR_CALM "too_many_pings" and disconnected.
func KeepaliveEnforcementPolicy(ep keepalive.EnforcementPolicy) ServerOption {
	return func(o *serverOptions) { o.enforcement = ep }
}

// The defaults of keepalive.ServerParameters and EnforcementPolicy, and
// the shortest server ping interval.
const (
	defaultServerKeepaliveTime = 2 * time.Hour
	defaultPingPolicyMinTime   = 5 * time.Minute
	minServerKeepaliveTime     = time.Second
)

// setKeepalive copies the keepalive options into a connection
// configuration, with their defaults; negative durations pass through for
// stream.Config.Validate to refuse.
func (o *serverOptions) setKeepalive(c *stream.Config) {
	kp, ep := o.keepalive, o.enforcement
	c.KeepaliveTime = kp.Time
	if kp.Time == 0 {
		c.KeepaliveTime = defaultServerKeepaliveTime
	}
	c.KeepaliveTimeout = kp.Timeout
	c.MaxConnectionIdle = kp.MaxConnectionIdle
	c.MaxConnectionAge = kp.MaxConnectionAge
	c.MaxConnectionAgeGrace = kp.MaxConnectionAgeGrace
	c.PingPolicyMinTime = ep.MinTime
	if ep.MinTime == 0 {
		c.PingPolicyMinTime = defaultPingPolicyMinTime
	}
	c.PingPolicyPermitWithoutStream = ep.PermitWithoutStream
}
