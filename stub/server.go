package stub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stream"
)

// ErrServerStopped is returned by Serve on a server that was stopped.
var ErrServerStopped = errors.New("grpc: the server has been stopped")

// defaultBlockedTotal is the server-wide default of MaxBlockedSendBytes.
const defaultBlockedTotal = 256 << 20

// defaultConnectionTimeout bounds a connection's credentials handshake.
const defaultConnectionTimeout = 120 * time.Second

// Server serves registered services on any number of listeners.
type Server struct {
	opts      serverOptions
	cfg       channel.ServerConfig
	unaryInt  UnaryServerInterceptor
	streamInt StreamServerInterceptor
	handler   channel.ServerHandler // s.handle, bound once

	// Filled by RegisterService before serving starts, read-only after.
	services map[string]*service
	methods  map[string]*method // by "/service/method"

	mu       sync.Mutex
	serving  bool
	stopped  bool
	quit     chan struct{} // closed by Stop and GracefulStop
	lis      map[net.Listener]struct{}
	conns    map[*channel.ServerConn]struct{}
	sweepAt  int            // size of conns at which finished ones are dropped
	accepted sync.WaitGroup // Serve loops and handshakes in progress
}

type service struct {
	desc *ServiceDesc
	impl any
}

// method is one registered method: a unary one (md) or a streaming one (sd).
type method struct {
	impl any
	md   *MethodDesc
	sd   *StreamDesc
	info StreamServerInfo
}

// NewServer returns a server with no services and no listeners.
func NewServer(opts ...ServerOption) *Server {
	s := &Server{
		services: map[string]*service{},
		methods:  map[string]*method{},
		quit:     make(chan struct{}),
		lis:      map[net.Listener]struct{}{},
		conns:    map[*channel.ServerConn]struct{}{},
		sweepAt:  64,
	}
	s.opts.connTimeout = defaultConnectionTimeout
	for _, o := range opts {
		o(&s.opts)
	}
	s.cfg.MaxRecvMsgSize = s.opts.maxRecvMsgSize
	s.cfg.MaxSendMsgSize = s.opts.maxSendMsgSize
	s.cfg.RecoverPanics = s.opts.recoverPanics
	for _, t := range s.opts.tuning {
		t(s)
	}
	s.cfg.Conn.MaxConcurrentStreams = s.opts.maxStreams
	s.cfg.Conn.OverheadBudget = s.opts.floodBudget
	s.cfg.Conn.MaxBlockedSendBytes = s.opts.blockedPerConn
	s.opts.setKeepalive(&s.cfg.Conn)
	switch total := s.opts.blockedTotal; {
	case total == 0:
		s.cfg.Conn.SendBudget = stream.NewBudget(defaultBlockedTotal)
	case total > 0:
		s.cfg.Conn.SendBudget = stream.NewBudget(total)
	}
	s.unaryInt = chainUnaryServer(s.opts.unaryInts)
	s.streamInt = chainStreamServer(s.opts.streamInts)
	s.handler = s.handle
	return s
}

// RegisterService registers impl as the implementation of the service desc
// describes. It must be called before Serve. It panics when impl does not
// implement desc.HandlerType or when the service is already registered.
func (s *Server) RegisterService(desc *ServiceDesc, impl any) {
	if impl != nil {
		ht := reflect.TypeOf(desc.HandlerType).Elem()
		if it := reflect.TypeOf(impl); !it.Implements(ht) {
			panic(fmt.Sprintf("grpc: Server.RegisterService found the handler of type %v that does not satisfy %v", it, ht))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving {
		panic(fmt.Sprintf("grpc: Server.RegisterService after Server.Serve for %q", desc.ServiceName))
	}
	if _, ok := s.services[desc.ServiceName]; ok {
		panic(fmt.Sprintf("grpc: Server.RegisterService found duplicate service registration for %q", desc.ServiceName))
	}
	s.services[desc.ServiceName] = &service{desc: desc, impl: impl}
	prefix := "/" + desc.ServiceName + "/"
	for i := range desc.Methods {
		m := &desc.Methods[i]
		s.methods[prefix+m.MethodName] = &method{impl: impl, md: m}
	}
	for i := range desc.Streams {
		sd := &desc.Streams[i]
		s.methods[prefix+sd.StreamName] = &method{impl: impl, sd: sd, info: StreamServerInfo{
			FullMethod:     prefix + sd.StreamName,
			IsClientStream: sd.ClientStreams,
			IsServerStream: sd.ServerStreams,
		}}
	}
}

// GetServiceInfo describes the registered services, by service name.
func (s *Server) GetServiceInfo() map[string]ServiceInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]ServiceInfo, len(s.services))
	for name, svc := range s.services {
		var ms []MethodInfo
		for _, m := range svc.desc.Methods {
			ms = append(ms, MethodInfo{Name: m.MethodName})
		}
		for _, sd := range svc.desc.Streams {
			ms = append(ms, MethodInfo{Name: sd.StreamName, IsClientStream: sd.ClientStreams, IsServerStream: sd.ServerStreams})
		}
		out[name] = ServiceInfo{Methods: ms, Metadata: svc.desc.Metadata}
	}
	return out
}

// Serve accepts connections on lis and serves them until lis fails or the
// server is stopped; it closes lis when it returns. After Stop or
// GracefulStop it returns nil, or ErrServerStopped when called after them.
func (s *Server) Serve(lis net.Listener) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		lis.Close()
		return ErrServerStopped
	}
	s.serving = true
	s.lis[lis] = struct{}{}
	s.accepted.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lis, lis)
		s.mu.Unlock()
		lis.Close()
		s.accepted.Done()
	}()

	var delay time.Duration // backoff after temporary Accept errors
	for {
		nc, err := lis.Accept()
		if err != nil {
			select {
			case <-s.quit:
				return nil
			default:
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				t := time.NewTimer(delay)
				select {
				case <-t.C:
				case <-s.quit:
					t.Stop()
					return nil
				}
				continue
			}
			return err
		}
		delay = 0
		s.accepted.Add(1)
		go s.handshake(nc)
	}
}

// handshake runs the credentials handshake of an accepted connection under
// the connection timeout, then serves it.
func (s *Server) handshake(nc net.Conn) {
	defer s.accepted.Done()
	conn := nc
	var auth credentials.AuthInfo
	if c := s.opts.creds; c != nil {
		nc.SetDeadline(time.Now().Add(s.opts.connTimeout))
		tc, ai, err := c.ServerHandshake(nc)
		if err != nil {
			nc.Close()
			return
		}
		tc.SetDeadline(time.Time{})
		conn, auth = tc, ai
	}
	sc := channel.ServeConn(conn, &s.cfg, auth, s.handler)
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		sc.Close()
		return
	}
	s.conns[sc] = struct{}{}
	if len(s.conns) >= s.sweepAt {
		s.sweepLocked()
	}
	s.mu.Unlock()
}

// sweepLocked forgets connections that have ended, so that a long-running
// server does not hold every connection it ever had; it runs when the set
// has doubled since the last sweep, which keeps its cost constant per
// connection.
func (s *Server) sweepLocked() {
	for sc := range s.conns {
		select {
		case <-sc.Done():
			delete(s.conns, sc)
		default:
		}
	}
	s.sweepAt = max(64, 2*len(s.conns))
}

// stop marks the server stopped, closes its listeners and returns its
// connections.
func (s *Server) stop() []*channel.ServerConn {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.quit)
	}
	for l := range s.lis {
		l.Close()
	}
	conns := make([]*channel.ServerConn, 0, len(s.conns))
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	s.conns = map[*channel.ServerConn]struct{}{}
	s.mu.Unlock()
	return conns
}

// Stop closes the listeners and every connection at once: calls in
// progress end (their contexts are cancelled; clients see
// codes.Unavailable). It does not wait for handlers to return.
func (s *Server) Stop() {
	conns := s.stop()
	for _, sc := range conns {
		sc.Close()
	}
	s.accepted.Wait()
	for _, sc := range conns {
		<-sc.Done()
	}
}

// GracefulStop stops accepting connections and calls, lets the calls in
// progress finish, then closes every connection and returns. New calls on
// existing connections are refused (clients see codes.Unavailable and may
// retry elsewhere). Registered services that implement
// GracefulStopObserver hear of it first.
func (s *Server) GracefulStop() {
	s.notifyGracefulStop()
	conns := s.stop()
	var wg sync.WaitGroup
	for _, sc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc.Shutdown(context.Background())
			sc.Wait()
		}()
	}
	wg.Wait()
	s.accepted.Wait()
}

// handle serves one call; the channel runs it on the call's goroutine.
func (s *Server) handle(ss *channel.ServerStream) {
	m := s.methods[ss.Method()]
	switch {
	case m == nil:
		s.unknown(ss)
	case m.md != nil:
		s.processUnary(ss, m)
	default:
		s.processStream(ss, m.impl, m.sd.Handler, &m.info)
	}
}

// unknown answers a call of an unregistered service or method.
func (s *Server) unknown(ss *channel.ServerStream) {
	full := ss.Method()
	if h := s.opts.unknownHandler; h != nil {
		s.processStream(ss, nil, h, &StreamServerInfo{FullMethod: full, IsClientStream: true, IsServerStream: true})
		return
	}
	svc, name := splitMethod(full)
	if _, ok := s.services[svc]; ok {
		ss.Finish(status.Newf(codes.Unimplemented, "unknown method %v for service %v", name, svc))
		return
	}
	ss.Finish(status.Newf(codes.Unimplemented, "unknown service %v", svc))
}

// splitMethod splits "/service/method" into its two names.
func splitMethod(full string) (svc, name string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return full, ""
}

// errStatus is the status a handler's error ends its call with: its own
// status, the one of a context error, or codes.Unknown.
func errStatus(err error) *status.Status {
	if st, ok := status.FromError(err); ok {
		return st
	}
	return status.FromContextError(err)
}

// SetHeader adds md to the response headers of the call ctx belongs to.
// They are sent with the first response, by SendHeader, or at the end of
// the call.
func SetHeader(ctx context.Context, md metadata.MD) error {
	ss, err := streamOf(ctx)
	if err != nil {
		return err
	}
	return ss.SetHeader(md)
}

// SendHeader sends the response headers of the call ctx belongs to, with
// md added. It may be called once.
func SendHeader(ctx context.Context, md metadata.MD) error {
	ss, err := streamOf(ctx)
	if err != nil {
		return err
	}
	return ss.SendHeader(md)
}

// SetTrailer adds md to the trailers of the call ctx belongs to.
func SetTrailer(ctx context.Context, md metadata.MD) error {
	ss, err := streamOf(ctx)
	if err != nil {
		return err
	}
	return ss.SetTrailer(md)
}

// Method returns the full method name ("/package.Service/Method") of the
// server call ctx belongs to.
func Method(ctx context.Context) (string, bool) {
	ss := channel.ServerStreamFromContext(ctx)
	if ss == nil {
		return "", false
	}
	return ss.Method(), true
}

// streamOf returns the server call ctx belongs to.
func streamOf(ctx context.Context) (*channel.ServerStream, error) {
	if ss := channel.ServerStreamFromContext(ctx); ss != nil {
		return ss, nil
	}
	return nil, status.Errorf(codes.Internal, "grpc: failed to fetch the stream from the context %v", ctx)
}
