package frame

import "time"

// MaxBDPWindow is the largest window that bandwidth-delay estimation grows
// a receive window to.
const MaxBDPWindow = 16 << 20

// BDPPingData is the payload of the PINGs a BDPEstimator asks to send; a
// PING ACK with it answers the estimator, any other is someone else's.
var BDPPingData = [8]byte{'h', '2', 'r', 'p', 'c', 'b', 'd', 'p'}

// BDPEstimator grows receive windows to the bandwidth-delay product of the
// connection, so large messages are not starved by a 64 KiB window on a
// fast or distant link. On DATA it starts a measurement by asking for a
// PING; the bytes received until the ACK come back are a sample of the
// bytes in flight. While samples come close to the current window and the
// bandwidth is at its highest yet, the window doubles, up to MaxBDPWindow.
// Not safe for concurrent use.
type BDPEstimator struct {
	window   uint32
	sample   uint32
	pinging  bool
	sentAt   time.Time
	rtt      float64 // smoothed, seconds
	rounds   int
	bwMax    float64 // bytes per second
	disabled bool
}

// NewBDPEstimator starts from the given window.
func NewBDPEstimator(window uint32) *BDPEstimator {
	return &BDPEstimator{window: window}
}

// Window returns the current estimate.
func (e *BDPEstimator) Window() uint32 { return e.window }

// MinBDPFrame is the smallest DATA frame that starts a measurement. A
// sample can only grow the window if it comes near it, which small frames
// (a unary call's message) never do: measuring them would only add a PING
// and its ACK to every exchange.
const MinBDPFrame = 4 << 10

// OnData records n bytes of DATA; it reports whether a BDP PING should be
// sent now (then the caller calls PingSent).
func (e *BDPEstimator) OnData(n uint32) bool {
	if e.disabled || e.window >= MaxBDPWindow {
		return false
	}
	if e.pinging {
		e.sample += n
		return false
	}
	if n < MinBDPFrame {
		return false
	}
	e.sample = n
	return true
}

// PingSent records when the PING left.
func (e *BDPEstimator) PingSent(now time.Time) {
	e.pinging = true
	e.sentAt = now
}

// OnPingAck handles the ACK of a BDP PING. It returns the new window and
// true when the window should grow.
func (e *BDPEstimator) OnPingAck(now time.Time) (uint32, bool) {
	if !e.pinging {
		return 0, false
	}
	e.pinging = false
	rtt := now.Sub(e.sentAt).Seconds()
	if rtt <= 0 {
		rtt = 1e-6
	}
	// A smoothed round-trip time; the first samples weigh more.
	if e.rounds < 10 {
		e.rounds++
		e.rtt += (rtt - e.rtt) / float64(e.rounds)
	} else {
		e.rtt = 0.9*e.rtt + 0.1*rtt
	}
	bw := float64(e.sample) / e.rtt
	if bw > e.bwMax {
		e.bwMax = bw
	}
	// Grow when the link carried at least two thirds of the window in one
	// round trip, at the best bandwidth seen so far.
	if float64(e.sample) >= 2.0/3.0*float64(e.window) && bw >= e.bwMax {
		next := uint64(e.sample) * 2
		if next > MaxBDPWindow {
			next = MaxBDPWindow
		}
		if uint32(next) > e.window {
			e.window = uint32(next)
			return e.window, true
		}
	}
	return 0, false
}

// Disable stops estimation, for connections with a fixed window.
func (e *BDPEstimator) Disable() { e.disabled = true }
