package stream

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/frame"
	"golang.org/x/net/http2"
)

// flood writes frames with write until it fails (the server closed the
// connection) or n frames are out; it returns how many it wrote.
func flood(t *testing.T, e *env, n int, write func(i int) error) <-chan int {
	t.Helper()
	done := make(chan int, 1)
	go func() {
		i := 0
		for ; i < n; i++ {
			if write(i) != nil {
				break
			}
		}
		done <- i
	}()
	return done
}

// skipUntil reads frames, whatever they are, until want accepts one.
func skipUntil(e *env, what string, want func(http2.Frame) bool) (http2.Frame, error) {
	for {
		f, err := e.p.ReadFrame()
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", what, err)
		}
		if want(f) {
			return f, nil
		}
	}
}

// goAway skips frames until a GOAWAY and checks its code.
func goAway(e *env, code http2.ErrCode) (*http2.GoAwayFrame, error) {
	f, err := skipUntil(e, "GOAWAY", func(f http2.Frame) bool { _, ok := f.(*http2.GoAwayFrame); return ok })
	if err != nil {
		return nil, err
	}
	ga := f.(*http2.GoAwayFrame)
	if ga.ErrCode != code {
		return ga, fmt.Errorf("GOAWAY %v (%q), want %v", ga.ErrCode, ga.DebugData(), code)
	}
	return ga, nil
}

// TestFloodsEndWithEnhanceYourCalm: each flood of frames that make no
// progress closes the connection with GOAWAY ENHANCE_YOUR_CALM once the
// peer has spent the overhead budget, and not before.
func TestFloodsEndWithEnhanceYourCalm(t *testing.T) {
	const budget = 200
	unknown := frame.AppendHeader(nil, 0, 0xfa, 0, 0)
	for _, tc := range []struct {
		name  string
		setup func(e *env) error
		write func(e *env, i int) error
	}{
		{"SETTINGS", nil, func(e *env, i int) error { return e.p.WriteSettings() }},
		{"PING", nil, func(e *env, i int) error { return e.p.WritePing(false, [8]byte{byte(i)}) }},
		{"PRIORITY", nil, func(e *env, i int) error {
			return e.p.WritePriority(uint32(2*i+1), http2.PriorityParam{Weight: 1})
		}},
		{"unknown frame types", nil, func(e *env, i int) error { return e.p.WriteRaw(unknown) }},
		{"empty DATA", writeRequest(1, false), func(e *env, i int) error { return e.p.WriteData(1, false, nil) }},
		{"empty CONTINUATION", nil, func(e *env, i int) error {
			if i == 0 {
				return e.p.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: e.p.EncodeHeaders(requestKV("/test")...)[:1]})
			}
			return e.p.WriteContinuation(1, false, nil)
		}},
		{"rapid reset", nil, func(e *env, i int) error {
			id := uint32(2*i + 1)
			if err := e.p.WriteHeaderBlock(id, false, requestKV("/test")...); err != nil {
				return err
			}
			return e.p.WriteRSTStream(id, http2.ErrCodeCancel)
		}},
		{"stream errors", nil, func(e *env, i int) error {
			// A request whose second HEADERS lacks END_STREAM: each gets
			// a RST_STREAM(PROTOCOL_ERROR).
			id := uint32(2*i + 1)
			if err := e.p.WriteHeaderBlock(id, false, requestKV("/test")...); err != nil {
				return err
			}
			return e.p.WriteHeaderBlock(id, false, "x-trailer", "v")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{reports: make(chan any, 16)}
			e.c, e.p = rawClient(t, &Config{OverheadBudget: budget}, hold)
			if tc.setup != nil {
				if err := tc.setup(e); err != nil {
					t.Fatal(err)
				}
			}
			sent := flood(t, e, 50*budget, func(i int) error { return tc.write(e, i) })
			ga, err := goAway(e, http2.ErrCodeEnhanceYourCalm)
			if err != nil {
				t.Fatal(err)
			}
			e.p.Conn.Close()
			n := <-sent
			// The refill over the test's run (a tenth of the budget per
			// second) is small, so the flood is cut off at the budget.
			if n < budget || n > budget+budget/10 {
				t.Errorf("closed after %d frames, budget %d", n, budget)
			}
			t.Logf("closed after %d frames: %q", n, ga.DebugData())
		})
	}
}

// TestWorkEarnsOverheadBack: a client that resets half of its calls early
// while the other half completes stays within the budget indefinitely.
func TestWorkEarnsOverheadBack(t *testing.T) {
	const budget = 50
	e := &env{reports: make(chan any, 16)}
	e.c, e.p = rawClient(t, &Config{OverheadBudget: budget}, func(s *Stream) {
		if s.Request().Path == "/done" {
			s.WriteHeaders(okResponse, true, true)
			return
		}
		<-s.Done()
	})
	for i := range 20 * budget {
		cancelled, done := uint32(4*i+1), uint32(4*i+3)
		if err := e.p.WriteHeaderBlock(cancelled, false, requestKV("/cancelled")...); err != nil {
			t.Fatal(err)
		}
		if err := e.p.WriteRSTStream(cancelled, http2.ErrCodeCancel); err != nil {
			t.Fatal(err)
		}
		if err := e.p.WriteHeaderBlock(done, true, requestKV("/done")...); err != nil {
			t.Fatal(err)
		}
		if _, err := readUntil(e.p, "response", func(f http2.Frame) bool {
			h, ok := f.(*http2.HeadersFrame)
			return ok && h.StreamID == done
		}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if err := expectAlive(e); err != nil {
		t.Fatal(err)
	}
}

// TestHandlersBoundedUnderRapidReset: streams the peer resets while their
// handlers still run count against MaxConcurrentStreams; the streams
// beyond wait in a queue of bounded length, and a peer that overflows it
// is sent GOAWAY ENHANCE_YOUR_CALM. At no time do more handlers run than
// the limit.
func TestHandlersBoundedUnderRapidReset(t *testing.T) {
	const limit = 4
	release := make(chan struct{})
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	e := &env{reports: make(chan any, 16)}
	e.c, e.p = rawClient(t, &Config{MaxConcurrentStreams: limit}, func(s *Stream) {
		wg.Add(1)
		defer wg.Done()
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release // a handler that ignores cancellation for a while
		running.Add(-1)
	})
	defer close(release)
	sent := flood(t, e, 100*limit, func(i int) error {
		id := uint32(2*i + 1)
		if err := e.p.WriteHeaderBlock(id, false, requestKV("/test")...); err != nil {
			return err
		}
		return e.p.WriteRSTStream(id, http2.ErrCodeCancel)
	})
	if _, err := goAway(e, http2.ErrCodeEnhanceYourCalm); err != nil {
		t.Fatal(err)
	}
	e.p.Conn.Close()
	// The stream after the queue's last place is the one that ends the
	// connection; the RST_STREAM that follows it is not read.
	n := <-sent
	if want := limit + maxQueuedFactor*limit; n != want {
		t.Errorf("closed after %d streams, want %d (limit %d, queue %d)", n, want, limit, maxQueuedFactor*limit)
	}
	// The handlers of the first streams may still be starting.
	for deadline := time.Now().Add(testTimeout); running.Load() < limit && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if p := peak.Load(); p != limit {
		t.Errorf("%d handlers ran at once, limit %d", p, limit)
	}
}

// TestQueuedStreamResetIsNotRun: a stream that waits for a handler slot
// and is reset meanwhile never reaches a handler; the next one does.
func TestQueuedStreamResetIsNotRun(t *testing.T) {
	release := make(chan struct{})
	ran := make(chan string, 8)
	e := &env{reports: make(chan any, 16)}
	e.c, e.p = rawClient(t, &Config{MaxConcurrentStreams: 1}, func(s *Stream) {
		ran <- s.Request().Path
		if s.Request().Path == "/first" {
			<-release
			return
		}
		s.WriteHeaders(okResponse, true, true)
	})
	steps := []step{
		writeHeaders(1, false, requestKV("/first")...), writeRST(1, http2.ErrCodeCancel),
		writeHeaders(3, false, requestKV("/queued-then-reset")...), writeRST(3, http2.ErrCodeCancel),
		writeHeaders(5, true, requestKV("/queued")...),
	}
	for i, st := range steps {
		if err := st(e); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if got := within(t, "first handler", ran); got != "/first" {
		t.Fatalf("first handler ran for %s", got)
	}
	if err := expectAlive(e); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-ran:
		t.Fatalf("handler ran for %s while the slot was taken", p)
	default:
	}
	close(release)
	if got := within(t, "queued handler", ran); got != "/queued" {
		t.Fatalf("next handler ran for %s, want /queued", got)
	}
	if err := expectHeaders(5, true)(e); err != nil {
		t.Fatal(err)
	}
}

// TestBlockedSendBudget: writers waiting for a window the peer never
// opens hold at most MaxBlockedSendBytes between them; the writer that
// would pass it fails with ErrSendBudget and its stream is reset with
// ENHANCE_YOUR_CALM. The first writer passes whatever its size.
func TestBlockedSendBudget(t *testing.T) {
	const budget = 3000
	results := make(chan error, 4)
	e := &env{reports: make(chan any, 16)}
	e.c, e.p = rawClient(t, &Config{MaxBlockedSendBytes: budget}, func(s *Stream) {
		size := 2000
		if s.ID() == 1 {
			size = 5000
		}
		// Not flushed: nothing is written (net.Pipe would wait for the
		// test to read) until the second stream's reset.
		s.WriteHeaders(okResponse, false, false)
		results <- s.WriteData(make([]byte, size), true, true)
	}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	blocked := func() int64 {
		e.c.mu.Lock()
		defer e.c.mu.Unlock()
		return e.c.blocked
	}
	if err := e.p.WriteHeaderBlock(1, true, requestKV("/test")...); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(testTimeout); blocked() != 5000; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("first writer holds %d bytes, want 5000", blocked())
		}
	}
	if err := e.p.WriteHeaderBlock(3, true, requestKV("/test")...); err != nil {
		t.Fatal(err)
	}
	f, err := skipUntil(e, "RST_STREAM", func(f http2.Frame) bool { _, ok := f.(*http2.RSTStreamFrame); return ok })
	if err != nil {
		t.Fatal(err)
	}
	if rst := f.(*http2.RSTStreamFrame); rst.StreamID != 3 || rst.ErrCode != http2.ErrCodeEnhanceYourCalm {
		t.Fatalf("got %v, want RST_STREAM ENHANCE_YOUR_CALM on stream 3", rst)
	}
	if err := within(t, "refused writer", results); !errors.Is(err, ErrSendBudget) {
		t.Fatalf("second writer: %v, want ErrSendBudget", err)
	}
	select {
	case err := <-results:
		t.Fatalf("first writer returned %v while waiting for window", err)
	case <-time.After(20 * time.Millisecond):
	}
	// Opening the window lets the first writer finish.
	if err := e.p.WriteWindowUpdate(1, 5000); err != nil {
		t.Fatal(err)
	}
	if err := expectData(1, string(make([]byte, 5000)), true)(e); err != nil {
		t.Fatal(err)
	}
	if err := within(t, "first writer", results); err != nil {
		t.Fatalf("first writer: %v", err)
	}
	if b := blocked(); b != 0 {
		t.Fatalf("%d bytes still counted as blocked", b)
	}
}

// TestRefusedWritesCloseConnection: a peer that keeps asking for more
// than it reads, past MaxBlockedSendBytes, spends its overhead budget by
// the size of what it made us build, and is closed with GOAWAY
// ENHANCE_YOUR_CALM; nothing stays counted as blocked.
func TestRefusedWritesCloseConnection(t *testing.T) {
	const size = 32 << 10 // each refusal costs 1 + 2 of the budget
	e := &env{reports: make(chan any, 16)}
	e.c, e.p = rawClient(t, &Config{MaxBlockedSendBytes: size, OverheadBudget: 30}, func(s *Stream) {
		s.WriteHeaders(okResponse, false, false)
		s.WriteData(make([]byte, size), true, true)
	}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	sent := flood(t, e, 100, func(i int) error {
		return e.p.WriteHeaderBlock(uint32(2*i+1), true, requestKV("/test")...)
	})
	ga, err := goAway(e, http2.ErrCodeEnhanceYourCalm)
	if err != nil {
		t.Fatal(err)
	}
	e.p.Conn.Close()
	if n := <-sent; n < 11 || n >= 100 {
		t.Errorf("closed after %d requests; the budget allows 10 refusals", n)
	}
	t.Logf("%q", ga.DebugData())
	waitConn(t, e.c)
	e.c.mu.Lock()
	defer e.c.mu.Unlock()
	if e.c.blocked != 0 {
		t.Errorf("%d bytes still counted as blocked", e.c.blocked)
	}
}

// TestOversizeHeaderFlood: requests whose header list is over the limit
// get 431 each, and count ten frames each against the overhead budget, so
// a stream of them (an HPACK bomb) is closed with ENHANCE_YOUR_CALM.
func TestOversizeHeaderFlood(t *testing.T) {
	const budget = 100
	e := &env{reports: make(chan any, 16)}
	e.c, e.p = rawClient(t, &Config{OverheadBudget: budget, MaxHeaderListSize: 1 << 10}, hold)
	// Each field fits the limit; together they pass it.
	kv := requestKV("/test")
	for i := range 10 {
		kv = append(kv, fmt.Sprintf("x-big-%d", i), strings.Repeat("b", 200))
	}
	sent := flood(t, e, 100, func(i int) error {
		return e.p.WriteHeaderBlock(uint32(2*i+1), true, kv...)
	})
	answered := 0
	for {
		f, err := skipUntil(e, "431 or GOAWAY", func(f http2.Frame) bool {
			switch f := f.(type) {
			case *http2.HeadersFrame:
				return true
			case *http2.GoAwayFrame:
				return f.ErrCode == http2.ErrCodeEnhanceYourCalm
			}
			return false
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := f.(*http2.GoAwayFrame); ok {
			break
		}
		answered++
	}
	e.p.Conn.Close()
	n := <-sent
	// Ten requests fill the budget of 100 (with the handshake's SETTINGS,
	// the tenth passes it). The last 431s may be dropped for the GOAWAY.
	if want := budget / oversizeWeight; n < want || n > want+1 || answered < 1 || answered >= n {
		t.Errorf("%d answered with 431, closed after %d requests; want closed after %d or %d", answered, n, want, want+1)
	}
}
