package channel

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stream"
)

// errHedgeLost ends an attempt whose headers came after another
// attempt's: the call has committed to that one.
var errHedgeLost = status.Error(codes.Canceled, "grpc: another hedged attempt was committed")

// hedgeState is what the attempts of one hedged unary call share.
type hedgeState struct {
	mu        sync.Mutex
	used      []*stream.Conn // connections attempts have gone to
	attempts  []*ClientStream
	cancels   []context.CancelFunc
	committed *ClientStream
}

// pick picks a connection for cs, one no other attempt of the call has
// used when the balancer offers one: the balancer is asked again, as many
// times as attempts have gone out, before a used one is accepted.
func (h *hedgeState) pick(cs *ClientStream) (*stream.Conn, func(balancer.DoneInfo), error) {
	h.mu.Lock()
	tries := len(h.used) + 1
	h.mu.Unlock()
	var conn *stream.Conn
	var done func(balancer.DoneInfo)
	for range tries {
		if done != nil {
			done(balancer.DoneInfo{})
		}
		var err error
		conn, done, err = cs.cc.pick(cs.ctx, cs.co.WaitForReady, cs.method)
		if err != nil {
			return nil, nil, err
		}
		if !h.usedConn(conn) {
			break
		}
	}
	h.mu.Lock()
	h.used = append(h.used, conn)
	h.mu.Unlock()
	return conn, done, nil
}

func (h *hedgeState) usedConn(c *stream.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range h.used {
		if u == c {
			return true
		}
	}
	return false
}

// commit makes cs the call's attempt once its headers arrive, unless
// another got there first; the other attempts are cancelled.
func (h *hedgeState) commit(cs *ClientStream) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.committed != nil {
		return h.committed == cs
	}
	h.committed = cs
	for i, a := range h.attempts {
		if a != cs {
			h.cancels[i]()
		}
	}
	return true
}

// lost reports whether an attempt other than cs has committed.
func (h *hedgeState) lost(cs *ClientStream) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.committed != nil && h.committed != cs
}

// isCommitted reports whether an attempt has committed.
func (h *hedgeState) isCommitted() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.committed != nil
}

// hedgeResult is how one attempt of a hedged call ended.
type hedgeResult struct {
	cs    *ClientStream
	reply []byte
	err   error
	end   attemptEnd
}

// maxHedgeTransparent bounds the attempts of a hedged call that are sent
// again because they never reached a server's handler.
const maxHedgeTransparent = 8

// invokeHedged runs a unary call under a hedging policy (gRFC A6): the
// first attempt goes at once, another after each hedgingDelay (all at once
// for a delay of 0) or at once when one fails with a non-fatal code, up to
// maxAttempts, each to a server the others have not used when there is
// one. The first attempt to receive response headers is committed and the
// others are cancelled; a fatal status ends the call; when every attempt
// has failed with a non-fatal code, the last failure is the call's.
func (cc *ClientConn) invokeHedged(ctx context.Context, method string, req, reply []byte, co *CallOptions, mc *methodConfig, thr *throttler, header, trailer *metadata.MD) ([]byte, error) {
	hp := mc.hedge
	// The attempts' goroutines get copies: what the caller passed stays
	// the caller's (and on its stack, for calls that do not hedge).
	var opts CallOptions
	if co != nil {
		opts = *co
	}
	ctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	h := &hedgeState{}
	results := make(chan hedgeResult, hp.maxAttempts+maxHedgeTransparent)
	launch := func(prev int) {
		// Its own copy: attempts write the message prefix, and may
		// outlive the call, after which req is the caller's again.
		msg := append([]byte(nil), req...)
		actx, cancel := context.WithCancel(ctx)
		cs := new(ClientStream)
		cs.hedge = h
		h.mu.Lock()
		h.attempts = append(h.attempts, cs)
		h.cancels = append(h.cancels, cancel)
		committed := h.committed != nil
		h.mu.Unlock()
		if committed {
			cancel()
		}
		go func() {
			defer cancel()
			r := hedgeResult{cs: cs}
			if err := cs.init(cc, actx, method, &opts, mc); err != nil {
				r.err, r.end.local = err, true
			} else {
				cs.prevAttempts = prev
				cs.statsBegin(false)
				r.reply, r.err = cs.invokeOnce(msg, nil, nil, nil)
				cs.statsEnd(r.err)
				r.end = cs.attemptEnd(r.err)
			}
			results <- r
		}()
	}
	run := hedgeRun{
		hp: hp, thr: thr, results: results, launch: launch,
		blocked: h.isCommitted,
		// An attempt that lost to the committed one decides nothing.
		skip: func(r hedgeResult) bool { return r.err == errHedgeLost || h.lost(r.cs) },
	}
	run.start()
	r, byCtx := run.wait(ctx)
	switch {
	case byCtx:
		return reply[:0], contextError(ctx.Err())
	case r.cs == nil:
		return reply[:0], status.Error(codes.Internal, "grpc: hedged call ended without an attempt")
	case r.err == nil:
		thr.success()
	}
	return hedgeFinish(h, r, reply, header, trailer)
}

// hedgeRun sends the attempts of a hedged call (gRFC A6), unary or
// streaming, and picks the result that ends it: the first attempt goes at
// once, another after each hedgingDelay (all at once for a delay of 0) or
// at once after a non-fatal failure, up to maxAttempts, while the throttle
// allows; the server's pushback delays the next or stops them. Attempts
// that never reached a handler are sent again, uncounted.
type hedgeRun struct {
	hp      *hedgingPolicy
	thr     *throttler
	results chan hedgeResult
	// launch sends an attempt with grpc-previous-rpc-attempts prev; the
	// attempt reports on results exactly once.
	launch func(prev int)
	// blocked reports that no attempt may start any more.
	blocked func() bool
	// skip reports a result that decides nothing (nil: none).
	skip func(hedgeResult) bool

	// The schedule, kept by whoever runs start and then wait.
	sent, pending, transparent int
	stopped                    bool // the server's pushback said stop
	timer                      *time.Timer
	tick                       <-chan time.Time
}

// start sends the first attempt, or all of them for a delay of 0, and
// sets the timer for the next.
func (h *hedgeRun) start() {
	h.next()
	if h.hp.delay == 0 {
		for h.next() {
		}
	} else {
		h.arm(h.hp.delay)
	}
}

// next sends another attempt, if one may go now.
func (h *hedgeRun) next() bool {
	if h.stopped || h.sent >= h.hp.maxAttempts || h.blocked() || (h.sent > 0 && !h.thr.allowed()) {
		return false
	}
	h.launch(h.sent)
	h.sent++
	h.pending++
	return true
}

// arm sets the timer of the next attempt to d from now.
func (h *hedgeRun) arm(d time.Duration) {
	if h.timer != nil {
		h.timer.Stop()
	}
	h.tick = nil
	if !h.stopped && h.sent < h.hp.maxAttempts {
		h.timer = time.NewTimer(d)
		h.tick = h.timer.C
	}
}

// wait returns the result that ends the call: a success, one whose
// headers came, a fatal failure, or the last non-fatal one (its error
// saying how many attempts there were); byCtx reports that ctx ended
// first. start must have been called.
func (h *hedgeRun) wait(ctx context.Context) (r hedgeResult, byCtx bool) {
	defer func() {
		if h.timer != nil {
			h.timer.Stop()
		}
	}()
	var last hedgeResult
	for {
		select {
		case r := <-h.results:
			h.pending--
			if h.skip != nil && h.skip(r) {
				break
			}
			if r.err == nil || r.err == io.EOF || r.end.committed || r.end.local || !h.hp.nonFatal.has(status.Code(r.err)) {
				return r, false
			}
			if r.end.streamErr != nil && retryable(r.end.streamErr) && h.transparent < maxHedgeTransparent {
				// Never reached a handler: sent again, not counted.
				h.transparent++
				h.launch(r.cs.prevAttempts)
				h.pending++
				break
			}
			last = r
			h.thr.fail()
			if d, present, stop := pushback(r.end.trailers); stop {
				h.stopped, h.tick = true, nil
			} else if present {
				h.arm(d)
			} else if h.next() {
				h.arm(h.hp.delay)
			}
		case <-h.tick:
			h.tick = nil
			if h.next() {
				h.arm(h.hp.delay)
			}
		case <-ctx.Done():
			return hedgeResult{}, true
		}
		if h.pending == 0 && !h.next() {
			if h.sent > 1 && last.cs != nil {
				last.err = exhausted(last.err, h.sent)
			}
			return last, false
		}
	}
}

// hedgeFinish returns the result of the attempt that ends a hedged call,
// and cancels the others.
func hedgeFinish(h *hedgeState, r hedgeResult, reply []byte, header, trailer *metadata.MD) ([]byte, error) {
	h.mu.Lock()
	for i, a := range h.attempts {
		if a != r.cs {
			h.cancels[i]()
		}
	}
	h.mu.Unlock()
	reply = append(reply[:0], r.reply...)
	cs := r.cs
	if header != nil {
		*header = metadata.MD{}
		if cs.st != nil && cs.headerFields != nil && !cs.st.TrailersOnly() {
			*header = headerMD(cs.headerFields)
		}
	}
	if trailer != nil {
		*trailer = cs.Trailer()
	}
	return reply, r.err
}
