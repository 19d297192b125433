package resolvertest

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// ClientConn is a resolver.ClientConn that queues every state and error a
// resolver pushes, in order, for a test to take with Next. Its methods may
// be called from any goroutine.
type ClientConn struct {
	mu sync.Mutex
	// updateErr is what UpdateState returns.
	updateErr error
	// events holds what was pushed and not yet taken; ready is signalled
	// (without blocking) on every push.
	events []Event
	ready  chan struct{}
}

// Event is one call a resolver made: a state (Err nil) or an error.
type Event struct {
	State resolver.State
	Err   error
	// At is when the call was made (by the bubble's clock, in a
	// testing/synctest bubble).
	At time.Time
}

// NewClientConn returns an empty ClientConn whose UpdateState returns nil.
func NewClientConn() *ClientConn {
	return &ClientConn{ready: make(chan struct{}, 1)}
}

// SetUpdateStateError makes UpdateState return err from now on, as a
// channel whose balancer rejects states does.
func (c *ClientConn) SetUpdateStateError(err error) {
	c.mu.Lock()
	c.updateErr = err
	c.mu.Unlock()
}

// UpdateState records s and returns the error SetUpdateStateError set.
func (c *ClientConn) UpdateState(s resolver.State) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.push(Event{State: s})
	return c.updateErr
}

// ReportError records err.
func (c *ClientConn) ReportError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.push(Event{Err: err})
}

// ParseServiceConfig returns a result with an error: the resolvers under
// test read no service config.
func (c *ClientConn) ParseServiceConfig(string) *serviceconfig.ParseResult {
	return &serviceconfig.ParseResult{Err: errNoServiceConfig}
}

func (c *ClientConn) push(e Event) {
	e.At = time.Now()
	c.events = append(c.events, e)
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// Take returns and removes every event recorded so far, oldest first.
func (c *ClientConn) Take() []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.events
	c.events = nil
	return e
}

// Next waits until an event is recorded or stop is closed, and returns the
// oldest event not yet taken, or false if stop was closed first.
func (c *ClientConn) Next(stop <-chan struct{}) (Event, bool) {
	for {
		c.mu.Lock()
		if len(c.events) > 0 {
			e := c.events[0]
			c.events = c.events[1:]
			c.mu.Unlock()
			return e, true
		}
		c.mu.Unlock()
		select {
		case <-c.ready:
		case <-stop:
			return Event{}, false
		}
	}
}

type constError string

func (e constError) Error() string { return string(e) }

const errNoServiceConfig = constError("resolvertest: no service config parser")

// Addrs returns the Addr of each of s's addresses.
func Addrs(s resolver.State) []string {
	out := make([]string, len(s.Addresses))
	for i, a := range s.Addresses {
		out[i] = a.Addr
	}
	return out
}

// CheckEndpoints returns "" when s has one endpoint per address, each
// holding just that address, in the same order; otherwise what differs.
func CheckEndpoints(s resolver.State) string {
	if len(s.Endpoints) != len(s.Addresses) {
		return "endpoints and addresses differ in number"
	}
	for i, ep := range s.Endpoints {
		if len(ep.Addresses) != 1 || !ep.Addresses[0].Equal(s.Addresses[i]) {
			return fmt.Sprintf("endpoint %d holds %v, want just %v", i, ep.Addresses, s.Addresses[i])
		}
	}
	return ""
}

// Target parses s as a channel would, failing t if it is no URI.
func Target(t testing.TB, s string) resolver.Target {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("parse target %q: %v", s, err)
	}
	return resolver.Target{URL: *u}
}
