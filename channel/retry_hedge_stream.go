package channel

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/channel/metadata"
)

// streamHedge runs a streaming call under a hedging policy (gRFC A6). The
// call's ClientStream is a front: each attempt is a ClientStream of its
// own. A coordinating goroutine sends the attempts (after each
// hedgingDelay, or at once after a non-fatal failure), and commits the
// call to the first attempt whose response headers arrive, or to the one
// that fails fatally, or to the last one to fail; the others are
// cancelled. Until then, the sender writes each message to every live
// attempt and keeps a copy for the attempts still to come, under mu; the
// receiver waits for the commit, then uses the committed attempt alone.
type streamHedge struct {
	cc     *ClientConn
	ctx    context.Context // ends with the call's, or with Cancel
	stop   context.CancelFunc
	method string
	co     CallOptions
	mc     *methodConfig
	thr    *throttler
	h      hedgeState // picks distinct connections; commit is ours below

	mu      sync.Mutex
	live    []*ClientStream // attempts sent and not yet failed
	msgs    [][]byte        // copies of the messages sent, until commit
	size    int
	closed  bool // CloseSend was called
	noComp  bool // SetMessageCompression(false)
	maxSend int
	results chan hedgeResult
	run     hedgeRun    // the schedule: started by newStreamHedge, then the coordinator's
	full    atomic.Bool // the copies outgrew the buffer: no more attempts

	winner    atomic.Pointer[ClientStream]
	openErr   error         // why the winner has no stream, if it has none
	committed chan struct{} // closed once winner is set
}

// newStreamHedge starts a hedged streaming call and its coordinator.
func (cc *ClientConn) newStreamHedge(ctx context.Context, method string, co CallOptions, mc *methodConfig, thr *throttler) *streamHedge {
	ctx, stop := context.WithCancel(ctx)
	sh := &streamHedge{
		cc: cc, ctx: ctx, stop: stop, method: method, co: co, mc: mc, thr: thr,
		results:   make(chan hedgeResult, mc.hedge.maxAttempts+maxHedgeTransparent),
		committed: make(chan struct{}),
	}
	sh.run = hedgeRun{
		hp: mc.hedge, thr: thr, results: sh.results,
		launch: func(prev int) {
			sh.mu.Lock()
			sh.launchLocked(prev)
			sh.mu.Unlock()
		},
		blocked: sh.full.Load,
		// A failed attempt is written to no more.
		skip: func(r hedgeResult) bool { sh.drop(r.cs); return false },
	}
	// The first attempt is out before the caller's first SendMsg.
	sh.run.start()
	go sh.coordinate()
	return sh
}

// launchLocked sends an attempt: it opens a stream and replays what was
// sent so far. mu is held.
func (sh *streamHedge) launchLocked(prev int) {
	actx, cancel := context.WithCancel(sh.ctx)
	a := new(ClientStream)
	a.hedge = &sh.h
	a.cancelCtx = cancel // the attempt's own, for its end
	a.thr = sh.thr       // told of success if this attempt's call succeeds
	sh.h.mu.Lock()
	sh.h.attempts = append(sh.h.attempts, a)
	sh.h.cancels = append(sh.h.cancels, cancel) // the coordinator's copy
	sh.h.mu.Unlock()
	r := hedgeResult{cs: a}
	if err := a.init(sh.cc, actx, sh.method, &sh.co, sh.mc); err != nil {
		cancel()
		r.err, r.end.local = err, true
		sh.results <- r
		return
	}
	a.prevAttempts = prev
	a.statsBegin(false)
	a.noCompress = sh.noComp
	sh.maxSend = a.maxSend
	conn, done, err := sh.h.pick(a)
	if err == nil {
		a.setDone(done)
		if err = a.open(conn, false, false); err != nil {
			if retryable(err) {
				a.retryErr = err
			}
			a.callDone(err)
			err = a.streamError(err)
		}
	}
	if err != nil {
		cancel()
		a.statsEnd(err)
		r.err, r.end = err, a.attemptEnd(err)
		a.st = nil
		sh.results <- r
		return
	}
	for _, m := range sh.msgs {
		a.send(m, false)
	}
	if sh.closed {
		a.closeSend()
	}
	sh.live = append(sh.live, a)
	// The attempt's own goroutine is its receiver until the call
	// commits: it waits for the headers, reports, and ends the attempt if
	// another is committed. The committed one's receiver is then the
	// call's.
	go func() {
		_, herr := a.readHeader()
		r := hedgeResult{cs: a}
		if herr != nil {
			r.err = herr
			r.end = a.attemptEnd(herr)
		}
		sh.results <- r
		<-sh.committed
		if sh.winner.Load() != a {
			if herr == nil {
				herr = errHedgeLost
			}
			a.end(herr)
		}
	}()
}

// coordinate sends hedges and picks the attempt the call commits to.
func (sh *streamHedge) coordinate() {
	r, byCtx := sh.run.wait(sh.ctx)
	if byCtx {
		// Every attempt ends with the context; the first to report is
		// the call's.
		r = <-sh.results
	} else if r.cs.st != nil && r.err != nil {
		// The error may say how many attempts were made.
		r.cs.hmu.Lock()
		r.cs.headerErr = r.err
		r.cs.hmu.Unlock()
	}
	sh.commit(r)
}

// drop removes a failed attempt from those the sender writes to.
func (sh *streamHedge) drop(a *ClientStream) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i, l := range sh.live {
		if l == a {
			sh.live = append(sh.live[:i], sh.live[i+1:]...)
			break
		}
	}
}

// commit makes a the call's attempt and cancels the others.
func (sh *streamHedge) commit(r hedgeResult) {
	a := r.cs
	if a.st == nil {
		sh.openErr = r.err
	}
	sh.mu.Lock()
	sh.live, sh.msgs = nil, nil
	sh.cc.retryBuffer.give(sh.size)
	sh.size = 0
	sh.winner.Store(a)
	sh.mu.Unlock()
	sh.h.mu.Lock()
	for i, o := range sh.h.attempts {
		if o != a {
			sh.h.cancels[i]()
		}
	}
	sh.h.mu.Unlock()
	close(sh.committed)
}

// wait returns the committed attempt, once there is one, or the error of
// one that never opened its stream.
func (sh *streamHedge) wait() (*ClientStream, error) {
	<-sh.committed
	if sh.openErr != nil {
		return nil, sh.openErr
	}
	return sh.winner.Load(), nil
}

// sendMsg is SendMsg of a hedged call.
func (sh *streamHedge) sendMsg(p []byte, last bool) error {
	if w := sh.winner.Load(); w != nil {
		if sh.openErr != nil {
			return io.EOF
		}
		if last {
			return w.CloseSend()
		}
		return w.SendMsg(p)
	}
	sh.mu.Lock()
	if w := sh.winner.Load(); w != nil {
		sh.mu.Unlock()
		return sh.sendMsg(p, last)
	}
	defer sh.mu.Unlock()
	if last {
		sh.closed = true
		for _, a := range sh.live {
			a.closeSend()
		}
		return nil
	}
	if err := checkSendSize(p, sh.maxSend); err != nil {
		return err
	}
	limit := defaultRetryBufferPerCall
	if n := sh.co.MaxRetryRPCBufferSize; n > 0 {
		limit = n
	}
	if !sh.full.Load() && sh.size+len(p) <= limit && sh.cc.retryBuffer.take(len(p)) {
		sh.size += len(p)
		sh.msgs = append(sh.msgs, append([]byte(nil), p...))
	} else if !sh.full.Swap(true) {
		// Out of buffer: no further attempt could be replayed.
		sh.cc.retryBuffer.give(sh.size)
		sh.msgs, sh.size = nil, 0
	}
	var err error
	for _, a := range sh.live {
		if e := a.send(p, false); e != nil && isStatusError(e) {
			err = e
		}
	}
	return err
}

// The front's methods, for a hedged call: each waits for the commit where
// it needs the committed attempt.

func (sh *streamHedge) header() (metadata.MD, error) {
	w, err := sh.wait()
	if err != nil {
		return nil, err
	}
	return w.Header()
}

func (sh *streamHedge) recvMsg(buf []byte) ([]byte, error) {
	w, err := sh.wait()
	if err != nil {
		return buf[:0], err
	}
	return w.RecvMsg(buf)
}

func (sh *streamHedge) trailer() metadata.MD {
	select {
	case <-sh.committed:
		if w := sh.winner.Load(); w != nil && sh.openErr == nil {
			return w.Trailer()
		}
	default:
	}
	return nil
}

// cancel abandons the call: every attempt, and any still to come.
func (sh *streamHedge) cancel() { sh.stop() }

// setCompression is SetMessageCompression of a hedged call.
func (sh *streamHedge) setCompression(on bool) {
	if w := sh.winner.Load(); w != nil {
		w.SetMessageCompression(on)
		return
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.noComp = !on
	for _, a := range sh.live {
		a.SetMessageCompression(on)
	}
}
