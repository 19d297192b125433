package frame

import (
	"testing"
	"time"
)

func TestRFC9113_6_9_1_SendWindowOverflowRejected(t *testing.T) {
	w := NewSendWindow(MaxWindowSize - 10)
	if w.Add(11) {
		t.Fatal("window past 2^31-1 accepted")
	}
	if w.Available() != MaxWindowSize-10 {
		t.Fatalf("window changed by a rejected update: %d", w.Available())
	}
	if !w.Add(10) || w.Available() != MaxWindowSize {
		t.Fatalf("window of exactly 2^31-1 refused: %d", w.Available())
	}
	if w.Add(1) || w.Add(MaxWindowSize) || w.Available() != MaxWindowSize {
		t.Fatal("window past 2^31-1 accepted")
	}
	w.Take(MaxWindowSize)
	if w.Available() != 0 || !w.Add(MaxWindowSize) {
		t.Fatal("emptied window refused the largest increment")
	}
}

// RFC 9113 §6.9.2: a smaller SETTINGS_INITIAL_WINDOW_SIZE can make a
// stream's send window negative; sending waits until WINDOW_UPDATEs bring
// it back above zero, and the 2^31-1 limit holds for the resulting value.
func TestRFC9113_6_9_2_NegativeWindowAfterSettingsChange(t *testing.T) {
	w := NewSendWindow(DefaultWindowSize)
	w.Take(60000)
	if !w.Adjust(16384 - DefaultWindowSize) { // the peer lowered the initial window to 16384
		t.Fatal("lowering refused")
	}
	if w.n != 5535-49151 || w.Available() != 0 {
		t.Fatalf("window %d, available %d", w.n, w.Available())
	}
	if !w.Add(43616) || w.Available() != 0 {
		t.Fatalf("still negative, available %d", w.Available())
	}
	if !w.Add(1) || w.Available() != 1 {
		t.Fatalf("available %d, want 1", w.Available())
	}
	// From a negative window, an increment larger than 2^31-1 minus the
	// window is fine as long as the result stays within the limit.
	w = NewSendWindow(0)
	w.Take(100)
	if !w.Add(MaxWindowSize) || w.Available() != MaxWindowSize-100 {
		t.Fatalf("available %d", w.Available())
	}
	if w.Adjust(101) || w.Available() != MaxWindowSize-100 {
		t.Fatal("SETTINGS change past 2^31-1 accepted or applied")
	}
	if !w.Adjust(100) || w.Available() != MaxWindowSize {
		t.Fatal("SETTINGS change to exactly 2^31-1 refused")
	}
}

func TestRFC9113_6_9_1_RecvWindowOverrun(t *testing.T) {
	w := NewRecvWindow(DefaultWindowSize)
	if w.Receive(DefaultWindowSize + 1) {
		t.Fatal("overrun accepted")
	}
	if w.Available() != DefaultWindowSize {
		t.Fatalf("overrun changed the window: %d", w.Available())
	}
	if !w.Receive(DefaultWindowSize) || w.Available() != 0 {
		t.Fatal("exactly the window refused")
	}
	if w.Receive(1) {
		t.Fatal("a byte past an empty window accepted")
	}
	if !w.Receive(0) {
		t.Fatal("an empty DATA frame refused on an empty window")
	}
}

// TestRFC9113_6_9_RecvWindowConsumeBatches: WINDOW_UPDATEs go out once a
// quarter of the window has been consumed, not for every message, and
// together give back exactly what was consumed.
func TestRFC9113_6_9_RecvWindowConsumeBatches(t *testing.T) {
	w := NewRecvWindow(DefaultWindowSize)
	// A quarter of 65535 is 16383: every 17th message of 1000 bytes.
	const msg, n, every = 1000, 200, 17
	var updates int
	var returned int64
	for i := range n {
		if !w.Receive(msg) {
			t.Fatalf("message %d overran a window the updates should keep open", i)
		}
		inc, want := w.Consume(msg), uint32(0)
		if (i+1)%every == 0 {
			want = every * msg
		}
		if inc != want {
			t.Fatalf("message %d: increment %d, want %d", i, inc, want)
		}
		if inc != 0 {
			updates++
			returned += int64(inc)
		}
		if w.Available() > w.Size() {
			t.Fatalf("available %d above the window %d", w.Available(), w.Size())
		}
	}
	if updates != n/every {
		t.Fatalf("%d WINDOW_UPDATEs for %d messages", updates, n)
	}
	if pending := int64(n*msg) - returned; pending < 0 || pending >= DefaultWindowSize/4 {
		t.Fatalf("%d consumed bytes not returned", pending)
	}
	if w.Available()+int64(n*msg)-returned != DefaultWindowSize {
		t.Fatalf("available %d + pending != window", w.Available())
	}
}

// TestRFC9113_6_9_RecvWindowConsumeWhenExhausted: once the peer has used
// the whole window, any consumption is returned at once, or the peer
// would stall.
func TestRFC9113_6_9_RecvWindowConsumeWhenExhausted(t *testing.T) {
	w := NewRecvWindow(1000)
	if !w.Receive(1000) {
		t.Fatal("window refused")
	}
	if inc := w.Consume(10); inc != 10 || w.Available() != 10 {
		t.Fatalf("increment %d, available %d", inc, w.Available())
	}
}

func TestRFC9113_6_9_RecvWindowGrow(t *testing.T) {
	w := NewRecvWindow(DefaultWindowSize)
	w.Receive(1000)
	if inc := w.Grow(1 << 20); inc != 1<<20-DefaultWindowSize {
		t.Fatalf("increment %d", inc)
	}
	if w.Size() != 1<<20 || w.Available() != 1<<20-1000 {
		t.Fatalf("size %d, available %d", w.Size(), w.Available())
	}
	if inc := w.Grow(1 << 19); inc != 0 || w.Size() != 1<<20 {
		t.Fatal("window shrank")
	}
	// The window never passes 2^31-1 (§6.9.1), however large the request.
	if inc := w.Grow(1<<32 - 1); inc != MaxWindowSize-1<<20 || w.Size() != MaxWindowSize {
		t.Fatalf("increment %d, size %d", inc, w.Size())
	}
	if inc := w.Grow(1 << 31); inc != 0 {
		t.Fatalf("increment %d past the maximum", inc)
	}
}

// RFC 9113 §6.9.2: after we announce a smaller initial window, the peer
// applies the difference to its view of each stream window, which may
// go negative; what it may send shrinks accordingly.
func TestRFC9113_6_9_2_RecvWindowSetInitial(t *testing.T) {
	w := NewRecvWindow(DefaultWindowSize)
	if !w.Receive(60000) {
		t.Fatal("refused")
	}
	w.SetInitial(16384 - DefaultWindowSize)
	if w.Size() != 16384 || w.Available() != 5535-49151 {
		t.Fatalf("size %d, available %d", w.Size(), w.Available())
	}
	if w.Receive(1) {
		t.Fatal("data accepted on a negative window")
	}
	// Consuming what was received returns only what brings the peer's
	// window back up to the new size.
	if inc := w.Consume(60000); inc != 16384+43616 || w.Available() != 16384 {
		t.Fatalf("increment %d, available %d", inc, w.Available())
	}
}

func TestBDPGrowsWithFullSamples(t *testing.T) {
	e := NewBDPEstimator(DefaultWindowSize)
	now := time.Unix(1000, 0)
	var windows []uint32
	for range 20 {
		w := e.Window()
		if !e.OnData(MinBDPFrame) {
			break
		}
		e.PingSent(now)
		e.OnData(w - MinBDPFrame) // the whole window arrives within the round trip
		now = now.Add(10 * time.Millisecond)
		nw, grow := e.OnPingAck(now)
		if !grow || nw != min(2*w, MaxBDPWindow) || e.Window() != nw {
			t.Fatalf("window %d: sample of the whole window gave %d, %v", w, nw, grow)
		}
		windows = append(windows, nw)
	}
	if e.Window() != MaxBDPWindow {
		t.Fatalf("stopped at %d after %v", e.Window(), windows)
	}
	if e.OnData(1) {
		t.Fatal("estimator asks for PINGs at the cap")
	}
}

// TestBDPSmallFramesDoNotMeasure: frames below MinBDPFrame (a unary call's
// message) never cost a PING.
func TestBDPSmallFramesDoNotMeasure(t *testing.T) {
	e := NewBDPEstimator(DefaultWindowSize)
	for range 100 {
		if e.OnData(MinBDPFrame - 1) {
			t.Fatal("a small frame started a measurement")
		}
	}
	if !e.OnData(MinBDPFrame) {
		t.Fatal("a frame of MinBDPFrame bytes did not start a measurement")
	}
}

func TestBDPSmallSamplesDoNotGrow(t *testing.T) {
	e := NewBDPEstimator(DefaultWindowSize)
	now := time.Unix(1000, 0)
	for i := range 50 {
		if !e.OnData(MinBDPFrame) {
			t.Fatalf("round %d: no PING asked for", i)
		}
		e.PingSent(now)
		e.OnData(30000 - MinBDPFrame) // under two thirds of the window
		now = now.Add(time.Millisecond)
		if w, grow := e.OnPingAck(now); grow || w != 0 {
			t.Fatalf("round %d: grew to %d", i, w)
		}
	}
	if e.Window() != DefaultWindowSize {
		t.Fatalf("window %d", e.Window())
	}
}

// TestBDPSlowerRoundDoesNotGrow: a full sample that took much longer than
// before shows less bandwidth than the best seen, so no growth.
func TestBDPSlowerRoundDoesNotGrow(t *testing.T) {
	e := NewBDPEstimator(DefaultWindowSize)
	now := time.Unix(1000, 0)
	round := func(sample uint32, rtt time.Duration) (uint32, bool) {
		e.OnData(sample)
		e.PingSent(now)
		now = now.Add(rtt)
		return e.OnPingAck(now)
	}
	w, grow := round(60000, 10*time.Millisecond)
	if !grow || w != 120000 {
		t.Fatalf("first round: %d, %v", w, grow)
	}
	if w, grow := round(100000, time.Second); grow {
		t.Fatalf("slow round grew the window to %d", w)
	}
}

func TestBDPUnsolicitedAckAndDisable(t *testing.T) {
	e := NewBDPEstimator(DefaultWindowSize)
	if w, grow := e.OnPingAck(time.Unix(1, 0)); grow || w != 0 {
		t.Fatal("an ACK without a PING counted")
	}
	e.Disable()
	if e.OnData(DefaultWindowSize) {
		t.Fatal("disabled estimator asks for a PING")
	}
}
