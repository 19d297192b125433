package stub

import "sync"

// The functions to run when a server's graceful stop begins, by server.
// They live beside the Server rather than in it so that the hook costs a
// server that has none nothing.
var (
	stopHooksMu sync.Mutex
	stopHooks   = map[*Server][]func(){}
)

// BeforeGracefulStop arranges for f to run when GracefulStop is first
// called, before the server stops accepting calls or sends GOAWAY, so that
// f may tell clients elsewhere (a gossip cluster, a registry) that the
// server is leaving and wait, for a bounded time, until they have heard.
// Functions run in the order they were added, once; Stop runs none of them.
func (s *Server) BeforeGracefulStop(f func()) {
	stopHooksMu.Lock()
	defer stopHooksMu.Unlock()
	stopHooks[s] = append(stopHooks[s], f)
}

// runStopHooks runs and forgets the server's BeforeGracefulStop functions.
func (s *Server) runStopHooks() {
	stopHooksMu.Lock()
	fs := stopHooks[s]
	delete(stopHooks, s)
	stopHooksMu.Unlock()
	for _, f := range fs {
		f()
	}
}
