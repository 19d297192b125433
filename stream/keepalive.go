package stream

import (
	"context"
	"errors"
	"github.com/h2rpc/h2rpc/internal/logx"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/frame"
)

// ErrKeepaliveTimeout is the error of a connection closed because the peer
// sent nothing for Config.KeepaliveTimeout after a keepalive PING.
var ErrKeepaliveTimeout = errors.New("keepalive ping not acknowledged")

// Debug data of the GOAWAY frames that connection management sends, as
// gRFC A9 and grpc-go spell them.
const (
	goAwayMaxIdle      = "max_idle"
	goAwayMaxAge       = "max_age"
	goAwayTooManyPings = "too_many_pings"
)

// maxPingStrikes is how many PINGs against the policy a client may send;
// the next one closes the connection.
const maxPingStrikes = 2

// idlePingInterval is the policy's interval for a client that pings with
// no stream open without being permitted to: a client that follows gRFC A8
// sends no keepalive then, so anything sooner is a strike.
const idlePingInterval = 2 * time.Hour

// keepalivePingData marks our keepalive PINGs.
var keepalivePingData = [8]byte{'h', '2', 'r', 'p', 'c', 'k', 'a', 'l'}

// keepalive is a connection's keepalive pings, connection age and idle
// limits, and ping policy (Config's Keepalive*, MaxConnection* and
// PingPolicy* fields). Its timers are time.AfterFunc timers, so an idle
// connection holds no goroutine for them.
//
// Lock order: ka.mu is taken before c.mu, never after it; fail stops the
// timers after releasing c.mu.
type keepalive struct {
	// track is set before the reader starts: the reader records lastRead.
	track bool
	// lastRead is when the last frame was read, in Unix nanoseconds.
	// Written by the reader.
	lastRead atomic.Int64

	mu        sync.Mutex
	stopped   bool
	ping      *time.Timer
	idle      *time.Timer
	age       *time.Timer
	busy      int       // handlers running (server)
	idleSince time.Time // when busy last fell to zero
	ageAt     time.Time // when MaxConnectionAge, jitter included, passes

	// Owned by the ping timer's function, which never runs twice at once
	// (it alone resets its timer).
	prevRead    int64 // lastRead when it last looked
	outstanding bool  // a PING was sent and nothing read since
	timeoutLeft time.Duration

	// Owned by the reader: the ping policy.
	lastPingAt time.Time
	strikes    int
	dataMark   uint64 // c.dataWrites at the last forgiveness
	peerMark   uint32 // c.lastPeerID at the last forgiveness

	// Guarded by c.mu: debug data of the graceful GOAWAY in progress.
	debug []byte
}

// startKeepalive arms the timers the configuration asks for. It runs in
// start, before the reader: it sets track and wraps the handler. A
// configuration that Validate rejects arms nothing (the connection is
// failed at once).
func (c *Conn) startKeepalive() {
	cfg := &c.cfg
	if cfg.Validate() != nil {
		return
	}
	k := &c.ka
	now := time.Now()
	k.prevRead = now.UnixNano()
	k.mu.Lock()
	defer k.mu.Unlock()
	if cfg.KeepaliveTime > 0 {
		k.track = true
		k.ping = time.AfterFunc(cfg.KeepaliveTime, c.keepaliveTimer)
	}
	if c.role != Server {
		return
	}
	if cfg.MaxConnectionIdle > 0 {
		k.idleSince = now
		h := c.handler
		c.handler = func(s *Stream) {
			c.handlerRuns(1)
			defer c.handlerRuns(-1)
			h(s)
		}
		k.idle = time.AfterFunc(cfg.MaxConnectionIdle, c.idleTimer)
	}
	if cfg.MaxConnectionAge > 0 {
		age := cfg.MaxConnectionAge + ageJitter(cfg.MaxConnectionAge)
		k.ageAt = now.Add(age)
		k.age = time.AfterFunc(age, c.ageTimer)
	}
}

// ageJitter returns a random duration within ±10 % of d, so connections
// made at once do not all end at once (gRFC A9).
func ageJitter(d time.Duration) time.Duration {
	r := int64(d / 10)
	if r <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(2*r+1) - r)
}

// stopKeepalive stops the timers; called by fail without c.mu.
func (c *Conn) stopKeepalive() {
	k := &c.ka
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stopped = true
	for _, t := range []*time.Timer{k.ping, k.idle, k.age} {
		if t != nil {
			t.Stop()
		}
	}
}

// noteRead records that a frame was read. Reader only.
func (c *Conn) noteRead() {
	if !c.ka.track {
		return
	}
	c.ka.lastRead.Store(time.Now().UnixNano())
}

// keepaliveTimer runs KeepaliveTime after the last frame read: it sends a
// PING, and closes the connection when KeepaliveTimeout has passed since
// with nothing read. A client that has no stream open and is not
// permitted to ping without one sends nothing and looks again a
// KeepaliveTime later.
func (c *Conn) keepaliveTimer() {
	k := &c.ka
	cfg := &c.cfg
	last := k.lastRead.Load()
	send, dead := false, false
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	switch {
	case last > k.prevRead:
		// Something was read since: the next PING is due KeepaliveTime
		// after it.
		k.outstanding = false
		k.prevRead = last
		k.ping.Reset(time.Until(time.Unix(0, last).Add(cfg.KeepaliveTime)))
	case k.outstanding && k.timeoutLeft <= 0:
		dead = true
	case c.role == Client && !cfg.KeepalivePermitWithoutStream && c.nActive.Load() == 0:
		k.outstanding = false
		k.ping.Reset(cfg.KeepaliveTime)
	default:
		if !k.outstanding {
			send, k.outstanding, k.timeoutLeft = true, true, cfg.KeepaliveTimeout
		}
		// Wake at the timeout, or earlier to see whether a PING answered
		// in time lets the next one go KeepaliveTime after this one.
		d := min(cfg.KeepaliveTime, k.timeoutLeft)
		k.timeoutLeft -= d
		k.ping.Reset(d)
	}
	k.mu.Unlock()
	if dead {
		c.fail(ErrKeepaliveTimeout, false)
		return
	}
	if send {
		buf := c.w.Start()
		buf = frame.AppendPing(buf, false, keepalivePingData)
		c.w.Finish(buf, frame.FlushAsync)
	}
}

// handlerRuns counts a handler starting (+1) or returning (-1).
func (c *Conn) handlerRuns(n int) {
	k := &c.ka
	k.mu.Lock()
	k.busy += n
	if k.busy == 0 {
		k.idleSince = time.Now()
	}
	k.mu.Unlock()
}

// idleTimer shuts the connection down gracefully once no handler has run
// for MaxConnectionIdle.
func (c *Conn) idleTimer() {
	if !c.shutdownDue(func(k *keepalive) bool {
		left := c.cfg.MaxConnectionIdle
		if k.busy == 0 {
			left -= time.Since(k.idleSince)
		}
		if left > 0 {
			k.idle.Reset(left)
			return false
		}
		return true
	}) {
		return
	}
	defer c.wg.Done()
	c.shutdown(context.Background(), []byte(goAwayMaxIdle))
}

// shutdownDue reports whether a timer of a running connection finds,
// by due under ka.mu, that it is time to shut down; if so it has counted
// the caller in c.wg, before stopKeepalive can run, and so before the
// reader's Done.
func (c *Conn) shutdownDue(due func(*keepalive) bool) bool {
	k := &c.ka
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped || !due(k) {
		return false
	}
	c.wg.Add(1)
	return true
}

// ageTimer shuts the connection down gracefully at MaxConnectionAge, and
// closes it MaxConnectionAgeGrace later if streams are still open.
func (c *Conn) ageTimer() {
	if !c.shutdownDue(func(*keepalive) bool { return true }) {
		return
	}
	defer c.wg.Done()
	ctx := context.Background()
	if g := c.cfg.MaxConnectionAgeGrace; g > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g)
		defer cancel()
	}
	c.shutdown(ctx, []byte(goAwayMaxAge))
}

// pingPolicy judges a PING from the client (Config.PingPolicyMinTime) and
// returns the error that closes the connection on the strike too many.
// Reader only.
func (c *Conn) pingPolicy() error {
	if c.role != Server || c.cfg.PingPolicyMinTime <= 0 {
		return nil
	}
	k := &c.ka
	now := time.Now()
	prev := k.lastPingAt
	k.lastPingAt = now
	data := c.dataWrites.Load()
	c.mu.Lock()
	peer, open := c.lastPeerID, c.nPeer
	c.mu.Unlock()
	if data != k.dataMark || peer != k.peerMark {
		// We sent data, or the client opened a stream, since its last
		// PING: its PINGs go with real work, and strikes are forgiven.
		k.dataMark, k.peerMark = data, peer
		k.strikes = 0
		return nil
	}
	interval := c.cfg.PingPolicyMinTime
	if open == 0 && !c.cfg.PingPolicyPermitWithoutStream {
		interval = idlePingInterval
	}
	if now.Sub(prev) < interval {
		k.strikes++
		logx.Log(slog.LevelWarn, "h2rpc: keepalive ping strike", slog.String("remote", c.remoteName()), slog.Int("strikes", k.strikes), slog.Int("max", maxPingStrikes))
	}
	if k.strikes > maxPingStrikes {
		return &frame.ConnError{Code: frame.ErrCodeEnhanceYourCalm, Reason: goAwayTooManyPings}
	}
	return nil
}

// PeerGoAway returns the GOAWAY the peer sent, or nil if it sent none.
func (c *Conn) PeerGoAway() *GoAwayError {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goAway == nil {
		return nil
	}
	e := *c.goAway
	return &e
}

// TooManyPings reports whether the GOAWAY is a server's complaint that we
// ping too often: ENHANCE_YOUR_CALM with debug data "too_many_pings". A
// client that gets it must double its keepalive time for the connections
// it makes next (gRFC A8).
func (e *GoAwayError) TooManyPings() bool {
	return e != nil && e.Code == frame.ErrCodeEnhanceYourCalm && e.Debug == goAwayTooManyPings
}
