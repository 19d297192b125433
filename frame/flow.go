package frame

// SendWindow is the flow-control window for data we send: how many more
// bytes of DATA the peer has allowed (RFC 9113 §6.9). It is not safe for
// concurrent use; the owner synchronises it.
type SendWindow struct {
	n int64
}

// NewSendWindow returns a window of n bytes.
func NewSendWindow(n uint32) SendWindow { return SendWindow{n: int64(n)} }

// Available returns how many bytes may be sent now (never negative).
func (w *SendWindow) Available() int64 { return max(w.n, 0) }

// Take records that n bytes of DATA (padding included) were sent.
func (w *SendWindow) Take(n int64) { w.n -= n }

// Add applies a WINDOW_UPDATE increment. RFC 9113 §6.9.1: a window above
// 2^31-1 is a FLOW_CONTROL_ERROR (the caller decides whether of the stream
// or of the connection), and the window is left unchanged.
func (w *SendWindow) Add(increment uint32) bool {
	if w.n+int64(increment) > MaxWindowSize {
		return false
	}
	w.n += int64(increment)
	return true
}

// Adjust applies a change of SETTINGS_INITIAL_WINDOW_SIZE to a stream's
// window: delta is the new value minus the old, and the window may become
// negative (RFC 9113 §6.9.2). It reports false if the window would pass
// 2^31-1, a connection error of type FLOW_CONTROL_ERROR.
func (w *SendWindow) Adjust(delta int64) bool {
	if w.n+delta > MaxWindowSize {
		return false
	}
	w.n += delta
	return true
}

// RecvWindow is the flow-control window for data we receive. It tracks how
// much the peer may still send, and how much the application has consumed
// without our having returned it to the peer by WINDOW_UPDATE. Not safe for
// concurrent use.
type RecvWindow struct {
	size     int64 // the window we want the peer to see
	avail    int64 // what the peer may still send
	unacked  int64 // consumed, not yet announced
	received int64 // total bytes received, for accounting
}

// NewRecvWindow returns a window of size bytes, the value the peer already
// knows (the initial window size, or 65535 for a connection).
func NewRecvWindow(size uint32) RecvWindow {
	return RecvWindow{size: int64(size), avail: int64(size)}
}

// Size returns the current target window.
func (w *RecvWindow) Size() int64 { return w.size }

// Available returns how many bytes the peer may still send.
func (w *RecvWindow) Available() int64 { return w.avail }

// Receive records n bytes of DATA (padding included). It reports false if
// the peer overran the window: a FLOW_CONTROL_ERROR (RFC 9113 §6.9.1). The
// window is unchanged in that case.
func (w *RecvWindow) Receive(n int64) bool {
	if n > w.avail {
		return false
	}
	w.avail -= n
	w.received += n
	return true
}

// Consume records that the application has taken n received bytes. It
// returns the WINDOW_UPDATE increment to send now, or 0 to wait: updates go
// out once a quarter of the window has been consumed, so that a stream of
// small messages does not cost one WINDOW_UPDATE each.
func (w *RecvWindow) Consume(n int64) uint32 {
	w.unacked += n
	if w.unacked < w.size/4 && w.avail > 0 {
		return 0
	}
	return w.flush()
}

func (w *RecvWindow) flush() uint32 {
	inc := w.unacked
	if w.avail+inc > w.size {
		inc = max(w.size-w.avail, 0)
	}
	w.unacked -= inc
	if w.unacked > 0 {
		// Consumed bytes beyond the target (after a shrink) are forgotten.
		w.unacked = 0
	}
	w.avail += inc
	return uint32(inc)
}

// Grow raises the target window to size, at most 2^31-1 (RFC 9113 §6.9.1),
// and returns the increment to send now, or 0. A window never shrinks below
// what has been announced.
func (w *RecvWindow) Grow(size uint32) uint32 {
	target := min(int64(size), MaxWindowSize)
	if target <= w.size {
		return 0
	}
	inc := target - w.size
	w.size = target
	w.avail += inc
	return uint32(inc)
}

// SetInitial changes the target of a stream window after we announced a new
// SETTINGS_INITIAL_WINDOW_SIZE: the peer applies the difference itself
// (RFC 9113 §6.9.2), so nothing is sent.
func (w *RecvWindow) SetInitial(delta int64) {
	w.size += delta
	w.avail += delta
}
