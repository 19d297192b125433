package channel

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/stream"
)

// streamRetry is the retry state of a streaming call with a retry policy.
// Until the call commits, the sender keeps a copy of every message it
// sends, and holds mu while it sends, so that the receiver, which alone
// replaces a failed attempt (in readHeader, under hmu), can swap the
// stream and replay the copies without racing it. Once committed, the
// stream never changes and mu is no longer taken.
type streamRetry struct {
	retryState
	mu        sync.Mutex
	committed atomic.Bool
	cur       atomic.Pointer[stream.Stream] // the current attempt's, for Cancel
	cancelled atomic.Bool                   // Cancel was called
	stopWait  chan struct{}                 // closed by Cancel: no backoff to wait out
	msgs      [][]byte                      // copies of the messages sent, under mu
	size      int                           // their bytes, under mu
	closed    bool                          // CloseSend was called, under mu
	limit     int
	cc        *ClientConn // whose retry budget size is taken from
}

// commit ends retrying: the copies are dropped. mu is held.
func (rs *streamRetry) commitLocked() {
	if rs.committed.Swap(true) {
		return
	}
	if rs.cc != nil {
		rs.cc.retryBuffer.give(rs.size)
	}
	rs.msgs, rs.size = nil, 0
}

// keepLocked copies p for replay, or commits when the buffers are full.
func (rs *streamRetry) keepLocked(p []byte) {
	if rs.committed.Load() {
		return
	}
	if rs.size+len(p) > rs.limit || !rs.cc.retryBuffer.take(len(p)) {
		rs.commitLocked()
		return
	}
	rs.size += len(p)
	rs.msgs = append(rs.msgs, append([]byte(nil), p...))
}

// sendRetried is SendMsg of a call that may still be retried.
func (cs *ClientStream) sendRetried(p []byte, last bool) error {
	rs := cs.rs
	rs.mu.Lock()
	if rs.committed.Load() {
		rs.mu.Unlock()
		return cs.send(p, last)
	}
	if cs.sendClosed {
		rs.mu.Unlock()
		return cs.send(p, last) // the error of a send after CloseSend
	}
	rs.keepLocked(p)
	if last {
		rs.closed = true
	}
	err := cs.send(p, last)
	committed := rs.committed.Load()
	rs.mu.Unlock()
	if err == io.EOF && !committed {
		// The attempt ended; the receiver finds out how, and replays the
		// copies on the next attempt if there is one.
		return nil
	}
	return err
}

// closeSendRetried is CloseSend of a call that may still be retried.
func (cs *ClientStream) closeSendRetried() error {
	rs := cs.rs
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if !rs.committed.Load() {
		rs.closed = true
	}
	return cs.closeSend()
}

// commit marks the call committed (its headers arrived, or it ended).
func (rs *streamRetry) commit() {
	if rs.committed.Load() {
		return
	}
	rs.mu.Lock()
	rs.commitLocked()
	rs.mu.Unlock()
}

// retryAttempt decides, after the current attempt failed with err before
// its headers, whether the call goes on with a new attempt, and makes it:
// it waits out the backoff, opens a new stream and replays what was sent.
// It runs in readHeader, with hmu held. It reports whether a new attempt
// is under way.
func (cs *ClientStream) retryAttempt(err error) bool {
	rs := cs.rs
	if rs.committed.Load() || rs.cancelled.Load() || cs.ctx.Err() != nil {
		// The caller gave up while the attempt failed (which also commits
		// the call): it ends as the caller said.
		if err := cs.ctx.Err(); err != nil {
			cs.headerErr = contextError(err)
		} else if rs.cancelled.Load() {
			cs.headerErr = errCancelled
		}
		return false
	}
	transparent, wait, again, ferr := rs.next(cs.attemptEnd(err))
	if !again {
		if ferr != err {
			cs.headerErr = ferr
		}
		return false
	}
	old := cs.st
	// Unblock a sender stuck on the old stream's flow control.
	old.Reset(frame.ErrCodeCancel)
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.committed.Load() {
		return false
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-cs.ctx.Done():
			t.Stop()
			cs.headerErr = contextError(cs.ctx.Err())
			return false
		case <-rs.stopWait:
			t.Stop()
			cs.headerErr = errCancelled
			return false
		}
	} else if err := cs.ctx.Err(); err != nil {
		cs.headerErr = contextError(err)
		return false
	}
	if !transparent {
		rs.retries++
	}
	if cs.stop != nil {
		cs.stop()
		cs.stop = nil
	}
	cs.callDone(err)
	cs.statsEnd(err)
	cs.resetAttempt()
	cs.prevAttempts = rs.retries
	cs.statsBegin(transparent)
	if err := cs.openAttempt(); err != nil {
		cs.headerErr = err
		return false
	}
	if rs.cancelled.Load() {
		cs.st.Reset(frame.ErrCodeCancel)
	}
	for i, m := range rs.msgs {
		last := rs.closed && i == len(rs.msgs)-1
		if err := cs.send(m, last); err != nil {
			break // the new attempt failed too: checkHeader sees how
		}
	}
	if rs.closed && !cs.sendClosed {
		cs.closeSend()
	}
	return true
}

// errCancelled ends a call its caller cancelled with Cancel.
var errCancelled = status.Error(codes.Canceled, "grpc: the call was cancelled")

// resetAttempt clears what belongs to one attempt.
func (cs *ClientStream) resetAttempt() {
	cs.conn, cs.st = nil, nil
	cs.flushed.Store(false)
	cs.sendClosed = false
	cs.headerFields, cs.retryErr, cs.localErr = nil, nil, false
	limit, eager := cs.mr.limit, cs.mr.eager
	cs.mr = msgReader{limit: limit, eager: eager}
}
