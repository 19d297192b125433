package health

import (
	"context"
	"sync"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stub"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
)

// maxListed is the most services List answers for; with more, List fails
// with RESOURCE_EXHAUSTED (as grpc-go's does) so that an answer stays small.
const maxListed = 100

// maxPending bounds the changes queued for one slow watcher; when more
// arrive, the oldest queued ones are dropped, so a watcher that does not
// read costs a bounded amount of memory. Its last status is never dropped.
const maxPending = 64

// Server is the health service: a serving status per service name, the
// empty name standing for the whole server. Its methods may be called from
// any goroutine.
type Server struct {
	healthpb.UnimplementedHealthServer

	mu       sync.Mutex
	shutdown bool // Shutdown was called and Resume was not
	statuses map[string]healthpb.HealthCheckResponse_ServingStatus
	watchers map[string]map[*watcher]struct{}
}

// watcher is one Watch call's queue of statuses not yet sent. The
// Server's mutex guards pending; wake has room for one signal.
type watcher struct {
	pending []healthpb.HealthCheckResponse_ServingStatus
	wake    chan struct{}
}

// NewServer returns a health server where the whole server ("") is
// SERVING and no service is known.
func NewServer() *Server {
	return &Server{
		statuses: map[string]healthpb.HealthCheckResponse_ServingStatus{"": healthpb.HealthCheckResponse_SERVING},
		watchers: map[string]map[*watcher]struct{}{},
	}
}

// Check returns the status of the service named in the request, or fails
// with NOT_FOUND when it has none.
func (s *Server) Check(_ context.Context, in *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.statuses[in.GetService()]
	if !ok {
		return nil, status.Error(codes.NotFound, "unknown service")
	}
	return &healthpb.HealthCheckResponse{Status: st}, nil
}

// List returns the status of every known service.
func (s *Server) List(_ context.Context, _ *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.statuses) > maxListed {
		return nil, status.Errorf(codes.ResourceExhausted, "server health list exceeds maximum capacity: %d", maxListed)
	}
	out := &healthpb.HealthListResponse{Statuses: make(map[string]*healthpb.HealthCheckResponse, len(s.statuses))}
	for name, st := range s.statuses {
		out.Statuses[name] = &healthpb.HealthCheckResponse{Status: st}
	}
	return out, nil
}

// Watch sends the status of the service named in the request at once
// (SERVICE_UNKNOWN when it has none), then every change of it, until the
// call ends. Two equal statuses in a row are sent once.
func (s *Server) Watch(in *healthpb.HealthCheckRequest, stream stub.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	name := in.GetService()
	w := &watcher{wake: make(chan struct{}, 1)}
	s.mu.Lock()
	st, ok := s.statuses[name]
	if !ok {
		st = healthpb.HealthCheckResponse_SERVICE_UNKNOWN
	}
	w.pending = append(w.pending, st)
	w.wake <- struct{}{}
	if s.watchers[name] == nil {
		s.watchers[name] = map[*watcher]struct{}{}
	}
	s.watchers[name][w] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers[name], w)
		if len(s.watchers[name]) == 0 {
			delete(s.watchers, name)
		}
		s.mu.Unlock()
	}()

	last := healthpb.HealthCheckResponse_ServingStatus(-1)
	ctx := stream.Context()
	for {
		select {
		case <-w.wake:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
		s.mu.Lock()
		batch := w.pending
		w.pending = nil
		s.mu.Unlock()
		for _, st := range batch {
			if st == last {
				continue
			}
			last = st
			if err := stream.Send(&healthpb.HealthCheckResponse{Status: st}); err != nil {
				return err
			}
		}
	}
}

// SetServingStatus sets the status of service (the empty name: the whole
// server) and sends it to the service's watchers. After Shutdown it does
// nothing until Resume.
func (s *Server) SetServingStatus(service string, st healthpb.HealthCheckResponse_ServingStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return
	}
	s.setLocked(service, st)
}

func (s *Server) setLocked(service string, st healthpb.HealthCheckResponse_ServingStatus) {
	s.statuses[service] = st
	for w := range s.watchers[service] {
		if len(w.pending) >= maxPending {
			w.pending = append(w.pending[:0], w.pending[len(w.pending)-maxPending/2:]...)
		}
		w.pending = append(w.pending, st)
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// Shutdown sets every service NOT_SERVING and ignores SetServingStatus
// until Resume. A server's GracefulStop calls it first.
func (s *Server) Shutdown() { s.setAll(true, healthpb.HealthCheckResponse_NOT_SERVING) }

// Resume sets every service SERVING and lets SetServingStatus change
// statuses again.
func (s *Server) Resume() { s.setAll(false, healthpb.HealthCheckResponse_SERVING) }

// setAll records whether the server is shut down and sets every service to
// st.
func (s *Server) setAll(shutdown bool, st healthpb.HealthCheckResponse_ServingStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.shutdown = shutdown
	for name := range s.statuses {
		s.setLocked(name, st)
	}
}

// GracefulStopStarted is called by a stub.Server this service is
// registered on when its GracefulStop begins: every service becomes
// NOT_SERVING, as by Shutdown.
func (s *Server) GracefulStopStarted() { s.Shutdown() }

var _ stub.GracefulStopObserver = (*Server)(nil)
