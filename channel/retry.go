package channel

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/hpack"
)

// Retry buffers (gRFC A6): a call whose sent messages exceed either limit
// commits to its current attempt. The per-call one is grpc-go's default.
const (
	defaultRetryBufferPerCall    = 256 << 10
	defaultRetryBufferPerChannel = 16 << 20
)

// throttler is gRFC A6's retry throttling of one channel: tokens start at
// maxTokens, fall by 1 on each failed attempt that could be retried and
// rise by ratio on each successful call; retries and hedges stop while
// tokens ≤ maxTokens/2.
type throttler struct {
	mu     sync.Mutex
	tokens float64
	p      throttlePolicy
}

func newThrottler(p *throttlePolicy) *throttler {
	if p == nil {
		return nil
	}
	return &throttler{tokens: p.maxTokens, p: *p}
}

// fail counts a failure and reports whether retries are now throttled.
func (t *throttler) fail() bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tokens = max(t.tokens-1, 0)
	return t.tokens <= t.p.maxTokens/2
}

// allowed reports whether a hedge may be sent now.
func (t *throttler) allowed() bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.tokens > t.p.maxTokens/2
}

func (t *throttler) success() {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.tokens = min(t.tokens+t.p.ratio, t.p.maxTokens)
	t.mu.Unlock()
}

// retryState is what one call keeps between its attempts.
type retryState struct {
	policy        *retryPolicy // nil: only transparent retries
	thr           *throttler
	retries       int  // attempts after the first (grpc-previous-rpc-attempts)
	sincePushback int  // retries since the server last set the backoff
	refusedUsed   bool // the one transparent retry of an unprocessed attempt is spent
}

// attemptEnd is what a failed attempt tells the retry decision.
type attemptEnd struct {
	err       error               // the attempt's status error
	streamErr error               // the stream layer's error, if the stream failed
	committed bool                // response headers arrived (not Trailers-Only)
	trailers  []hpack.HeaderField // trailers or Trailers-Only headers, if any
	local     bool                // the client itself failed the attempt
}

// exhausted wraps the last attempt's error once maxAttempts is
// reached: the status stays the last attempt's.
func exhausted(err error, n int) error {
	s := status.Convert(err)
	return status.Errorf(s.Code(), "%s (after %d attempts)", s.Message(), n)
}

// next decides whether a failed attempt is retried: transparent reports a
// retry that does not count as an attempt, wait how long to wait first.
// ok false means the call ends with err.
func (rs *retryState) next(e attemptEnd) (transparent bool, wait time.Duration, ok bool, err error) {
	if e.streamErr != nil {
		switch {
		case neverSent(e.streamErr):
			return true, 0, true, nil
		case unprocessed(e.streamErr) && !rs.refusedUsed:
			rs.refusedUsed = true
			return true, 0, true, nil
		}
	}
	rp := rs.policy
	if rp == nil || e.committed || e.local {
		return false, 0, false, e.err
	}
	delay, hasPushback, stop := pushback(e.trailers)
	if stop {
		// The server asks for no retry (and this counts as a failure).
		rs.thr.fail()
		return false, 0, false, e.err
	}
	if !rp.codes.has(status.Code(e.err)) {
		return false, 0, false, e.err
	}
	if rs.thr.fail() {
		return false, 0, false, e.err
	}
	if rs.retries+1 >= rp.maxAttempts {
		return false, 0, false, exhausted(e.err, rs.retries+1)
	}
	if hasPushback {
		rs.sincePushback = 0
		return false, delay, true, nil
	}
	cur := min(float64(rp.initialBackoff)*math.Pow(rp.multiplier, float64(rs.sincePushback)), float64(rp.maxBackoff))
	rs.sincePushback++
	// gRFC A6: random(0, current backoff).
	return false, time.Duration(rand.Float64() * cur), true, nil
}

// pushback reads a server's grpc-retry-pushback-ms (gRFC A6): whether it
// is present and the delay it asks for, or stop for a value that is
// negative, unreadable or given twice, which asks for no more attempts.
func pushback(trailers []hpack.HeaderField) (d time.Duration, present, stop bool) {
	vs := fieldValues(trailers, "grpc-retry-pushback-ms")
	if len(vs) == 0 {
		return 0, false, false
	}
	ms, err := strconv.Atoi(vs[0])
	if len(vs) > 1 || err != nil || ms < 0 {
		return 0, true, true
	}
	return time.Duration(ms) * time.Millisecond, true, false
}

// fieldValues returns the values of name in fields.
func fieldValues(fields []hpack.HeaderField, name string) []string {
	var vs []string
	for _, f := range fields {
		if f.Name == name {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryBudget bounds the bytes a channel's calls hold for replay.
type retryBudget struct{ used atomic.Int64 }

// take reserves n bytes, if the channel's budget has room.
func (b *retryBudget) take(n int) bool {
	if b.used.Add(int64(n)) > defaultRetryBufferPerChannel {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

func (b *retryBudget) give(n int) { b.used.Add(-int64(n)) }

// contextError is the status of an attempt loop stopped by its context.
func contextError(err error) error { return status.FromContextError(err).Err() }
