package channel

import "sync"

// serializer runs callbacks one at a time, in the order they were
// scheduled, on a goroutine of its own: resolver updates, balancer calls
// and subchannel state changes all go through one, so a balancer never
// sees two of them at once (balancer.Balancer's contract) and a resolver
// or subchannel never waits on the balancer.
type serializer struct {
	mu      sync.Mutex
	queue   []func()
	running bool
	closed  bool
	wg      sync.WaitGroup
}

func newSerializer() *serializer { return &serializer{} }

// schedule queues f; it reports false once the serializer is closed, and f
// then never runs.
func (s *serializer) schedule(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.queue = append(s.queue, f)
	if !s.running {
		s.running = true
		s.wg.Add(1)
		go s.run()
	}
	return true
}

func (s *serializer) run() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		f := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		f()
	}
}

// close runs what is queued, refuses what comes after, and returns once
// the last callback has run. It must not be called from a callback.
func (s *serializer) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}
