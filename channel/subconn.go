package channel

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/stream"
)

// subConn is one subchannel: a connection to one address and its
// connectivity state machine. Connect moves IDLE to CONNECTING; a
// connection made is READY until it fails or drains (GOAWAY), then IDLE;
// a failed attempt is TRANSIENT_FAILURE for a backoff, then IDLE. The
// balancer hears of every change, in order, through the serializer, and
// decides when to connect again.
type subConn struct {
	cc       *ClientConn
	bcc      *balancerCC // of the balancer that made it
	addr     resolver.Address
	listener func(balancer.SubConnState)
	// healthCheck: the balancer asked for health checking (gRFC A17).
	healthCheck bool

	ready atomic.Pointer[stream.Conn] // the READY connection, read by picks

	mu       sync.Mutex
	state    connectivity.State
	conn     *stream.Conn
	failures int
	retry    *time.Timer        // the backoff of TRANSIENT_FAILURE
	cancel   context.CancelFunc // of the attempt in progress
	draining []*stream.Conn     // earlier connections finishing their calls
}

// setStateLocked records a state and tells the balancer, in order.
func (sc *subConn) setStateLocked(s connectivity.State, err error) {
	if sc.state == s || sc.state == connectivity.Shutdown {
		return
	}
	sc.state = s
	if s != connectivity.Ready {
		sc.ready.Store(nil)
	}
	if l := sc.listener; l != nil {
		st := balancer.SubConnState{ConnectivityState: s, ConnectionError: err}
		bcc := sc.bcc
		sc.cc.ser.schedule(func() {
			if !bcc.closed.Load() {
				l(st)
			}
		})
	}
}

// Connect starts connecting if the subchannel is IDLE.
func (sc *subConn) Connect() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.state != connectivity.Idle {
		return
	}
	sc.setStateLocked(connectivity.Connecting, nil)
	ctx, cancel := context.WithTimeout(sc.cc.closingCtx, sc.cc.opts.minConnect)
	sc.cancel = cancel
	sc.cc.wg.Add(1)
	go sc.connect(ctx, cancel)
}

func (sc *subConn) connect(ctx context.Context, cancel context.CancelFunc) {
	defer sc.cc.wg.Done()
	c, err := sc.cc.dial(ctx, sc.addr)
	cancel()
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.cancel = nil
	if sc.state == connectivity.Shutdown {
		if c != nil {
			c.Close()
		}
		return
	}
	if err != nil {
		sc.failures++
		sc.cc.noteError(err)
		sc.setStateLocked(connectivity.TransientFailure, err)
		sc.retry = time.AfterFunc(backoffFor(sc.cc.opts.backoff, sc.failures), sc.endBackoff)
		sc.cc.resolveNow()
		return
	}
	sc.failures = 0
	sc.conn = c
	sc.cc.wg.Add(1)
	go sc.watch(c)
	if !sc.startHealthCheckLocked(c) {
		sc.ready.Store(c)
		sc.setStateLocked(connectivity.Ready, nil)
	}
}

// endBackoff ends TRANSIENT_FAILURE once its backoff has passed.
func (sc *subConn) endBackoff() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.state == connectivity.TransientFailure {
		sc.retry = nil
		sc.setStateLocked(connectivity.Idle, nil)
	}
}

func (sc *subConn) resetBackoff() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.failures = 0
	if sc.state == connectivity.TransientFailure && sc.retry != nil && sc.retry.Stop() {
		sc.retry = nil
		sc.setStateLocked(connectivity.Idle, nil)
	}
}

// watch follows a READY connection until it drains or fails; the
// subchannel then goes IDLE and the resolver is asked to look again.
func (sc *subConn) watch(c *stream.Conn) {
	defer sc.cc.wg.Done()
	select {
	case <-c.Draining():
	case <-c.Done():
	}
	// Before the balancer hears of it and reconnects.
	sc.cc.connEnded(c)
	sc.mu.Lock()
	if sc.conn == c {
		sc.conn = nil
		if c.Err() == nil {
			sc.draining = append(sc.draining, c)
		}
		sc.setStateLocked(connectivity.Idle, nil)
	}
	sc.mu.Unlock()
	sc.cc.resolveNow()
	// A draining connection finishes its calls, unless the channel
	// closes first.
	select {
	case <-c.Done():
	case <-sc.cc.closingCtx.Done():
		c.Close()
	}
	c.Wait()
	sc.mu.Lock()
	for i, d := range sc.draining {
		if d == c {
			sc.draining = append(sc.draining[:i], sc.draining[i+1:]...)
			break
		}
	}
	sc.mu.Unlock()
}

// Shutdown takes the subchannel out of use: calls in progress on its
// connection finish, then it closes.
func (sc *subConn) Shutdown() {
	sc.mu.Lock()
	if sc.state == connectivity.Shutdown {
		sc.mu.Unlock()
		return
	}
	sc.setStateLocked(connectivity.Shutdown, nil)
	c := sc.conn
	sc.conn = nil
	sc.stopLocked()
	sc.mu.Unlock()
	sc.cc.mu.Lock()
	delete(sc.cc.subConns, sc)
	sc.cc.mu.Unlock()
	if c != nil {
		sc.cc.wg.Add(1)
		go func() {
			defer sc.cc.wg.Done()
			c.Shutdown(sc.cc.closingCtx)
		}()
	}
}

// close closes the subchannel and its connections at once (ClientConn's
// Close).
func (sc *subConn) close() {
	sc.mu.Lock()
	sc.setStateLocked(connectivity.Shutdown, nil)
	conns := append(sc.draining, sc.conn)
	sc.conn, sc.draining = nil, nil
	sc.stopLocked()
	sc.mu.Unlock()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

func (sc *subConn) stopLocked() {
	if sc.retry != nil {
		sc.retry.Stop()
		sc.retry = nil
	}
	if sc.cancel != nil {
		sc.cancel()
	}
}

// String names the subchannel by its address, for logs.
func (sc *subConn) String() string { return "subchannel(" + sc.addr.String() + ")" }

// fillBackoff puts gRPC's defaults into the zero fields of b.
func fillBackoff(b *BackoffConfig) {
	d := DefaultBackoffConfig
	if b.BaseDelay <= 0 {
		b.BaseDelay = d.BaseDelay
	}
	if b.Multiplier < 1 {
		b.Multiplier = d.Multiplier
	}
	if b.Jitter <= 0 || b.Jitter > 1 {
		b.Jitter = d.Jitter
	}
	if b.MaxDelay <= 0 {
		b.MaxDelay = d.MaxDelay
	}
}

// backoffFor is the delay after the n-th failure in a row.
func backoffFor(b BackoffConfig, failures int) time.Duration {
	d := float64(b.BaseDelay)
	for i := 1; i < failures && d < float64(b.MaxDelay); i++ {
		d *= b.Multiplier
	}
	d = min(d, float64(b.MaxDelay))
	d *= 1 + b.Jitter*(2*rand.Float64()-1)
	return time.Duration(d)
}

// minConnectTimeout is the least time a connection attempt is given.
const minConnectTimeout = 20 * time.Second
