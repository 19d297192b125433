package stub

// GracefulStopObserver is implemented by a service implementation that
// must act when the server it is registered on begins GracefulStop, before
// the server stops taking calls: health.Server reports every service
// NOT_SERVING, so that clients watching it move their calls elsewhere
// while it drains.
type GracefulStopObserver interface {
	// GracefulStopStarted is called once per GracefulStop for each
	// service the implementation is registered as, before listeners
	// close.
	GracefulStopStarted()
}

// notifyGracefulStop calls GracefulStopStarted of every registered
// implementation that has it.
func (s *Server) notifyGracefulStop() {
	s.mu.Lock()
	var obs []GracefulStopObserver
	for _, svc := range s.services {
		if o, ok := svc.impl.(GracefulStopObserver); ok {
			obs = append(obs, o)
		}
	}
	s.mu.Unlock()
	for _, o := range obs {
		o.GracefulStopStarted()
	}
}
