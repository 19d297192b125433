package frame

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// gateWriter is a connection whose write calls wait for release (a value
// or its closing), announcing each call on entered first. It counts the
// bytes written and closes full once it has want of them.
type gateWriter struct {
	entered chan struct{}
	release chan struct{}
	err     error // returned by every write, if set

	mu    sync.Mutex
	buf   bytes.Buffer
	want  int
	full  chan struct{}
	calls int
}

func newGateWriter() *gateWriter {
	return &gateWriter{entered: make(chan struct{}, 1000), release: make(chan struct{}), full: make(chan struct{})}
}

// open lets every write through.
func newOpenWriter() *gateWriter {
	g := newGateWriter()
	close(g.release)
	return g
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.release
	runtime.Gosched() // give other goroutines a chance to queue meanwhile
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	if g.err != nil {
		return 0, g.err
	}
	g.buf.Write(p)
	if g.want > 0 && g.buf.Len() >= g.want {
		g.want = 0
		close(g.full)
	}
	return len(p), nil
}

// expect sets how many bytes must arrive before full is closed.
func (g *gateWriter) expect(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.buf.Len() >= n {
		close(g.full)
		return
	}
	g.want = n
}

func (g *gateWriter) bytes() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return bytes.Clone(g.buf.Bytes())
}

// waitFor fails t unless ch closes within ten seconds.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventually polls cond, which has no channel to wait on, for ten seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

// finish runs Start, add and Finish(mode) on a new goroutine and returns
// the channel Finish's error comes out of.
func finish(w *Writer, mode FlushMode, add func([]byte) []byte) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- w.Finish(add(w.Start()), mode) }()
	return errc
}

func ping(b []byte) []byte { return AppendPing(b, false, [8]byte{}) }

// dataOf returns a function appending a DATA frame with n bytes of payload.
func dataOf(n int) func([]byte) []byte {
	return func(b []byte) []byte { return AppendData(b, 1, false, make([]byte, n)) }
}

// waitingInFinish blocks until some goroutine is parked inside
// Writer.Finish waiting for the queue to drain, failing if done closes
// first: the caller it watches returned instead of waiting.
func waitingInFinish(t *testing.T, done <-chan error) {
	t.Helper()
	eventually(t, "a caller waiting in Finish", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Finish returned (%v) above the high-water mark", err)
		default:
		}
		for _, s := range leakcheck.Stacks() {
			if strings.Contains(s, "sync.(*Cond).Wait") && strings.Contains(s, "(*Writer).Finish") {
				return true
			}
		}
		return false
	})
}

// blockedWriter returns a Writer with the given high-water mark whose
// connection is stuck in its first write (of one PING, by a caller whose
// Finish error comes out of the channel), until g.release is closed.
func blockedWriter(t *testing.T, highWater int) (*gateWriter, *Writer, <-chan error) {
	t.Helper()
	g := newGateWriter()
	w := NewWriter(g)
	w.SetLimits(highWater, 1<<20)
	first := finish(w, Flush, ping)
	waitFor(t, g.entered, "the first write")
	return g, w, first
}

// TestWriterNoInterleaving: each caller's frames between Start and Finish
// reach the wire together, whatever the flush mode and however many
// callers race.
func TestWriterNoInterleaving(t *testing.T) {
	leakcheck.Check(t)
	g := newOpenWriter()
	w := NewWriter(g)
	const callers, groups = 16, 25
	block := bytes.Repeat([]byte{0x82}, 50)
	group := func(b []byte, stream uint32) []byte {
		b = AppendHeaders(b, stream, false, block, 16) // HEADERS + 3 CONTINUATION
		b = AppendData(b, stream, false, []byte("message"))
		return AppendData(b, stream, true, nil)
	}
	size := len(group(nil, 1))
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range groups {
				stream := uint32(2*(c*groups+i) + 1)
				if err := w.Finish(group(w.Start(), stream), FlushMode(i%3)); err != nil && err != ErrWriteQueueFull {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	g.expect(callers * groups * size)
	if err := w.Finish(w.Start(), Flush); err != nil { // NoFlush leftovers
		t.Fatal(err)
	}
	waitFor(t, g.full, "every frame written")
	eventually(t, "writer idle", w.Idle)

	r := NewReader(bytes.NewReader(g.bytes()))
	seen := make(map[uint32]bool)
	wantTypes := []Type{TypeHeaders, TypeContinuation, TypeContinuation, TypeContinuation, TypeData, TypeData}
	for n := 0; ; n++ {
		f, err := r.ReadFrame()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		i := n % len(wantTypes)
		if f.Type != wantTypes[i] {
			t.Fatalf("frame %d: %v, want %v: groups interleaved", n, f, wantTypes[i])
		}
		if i == 0 {
			if seen[f.StreamID] {
				t.Fatalf("stream %d written twice", f.StreamID)
			}
			seen[f.StreamID] = true
		}
	}
	if len(seen) != callers*groups {
		t.Fatalf("%d groups on the wire, want %d", len(seen), callers*groups)
	}
}

// TestWriterBatches: callers that find the connection busy leave their
// frames to the goroutine writing, which sends them all in one call.
func TestWriterBatches(t *testing.T) {
	leakcheck.Check(t)
	g, w, first := blockedWriter(t, DefaultHighWater)
	const callers = 99
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if err := w.Finish(ping(w.Start()), Flush); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait() // all returned with the connection still blocked
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := w.Writes(); n != 2 {
		t.Fatalf("%d write calls for %d frames, want 2", n, callers+1)
	}
	if got, want := len(g.bytes()), (callers+1)*17; got != want {
		t.Fatalf("%d bytes written, want %d", got, want)
	}
	if !w.Idle() || w.Queued() != 0 || w.pend != nil {
		t.Fatal("writer holds a buffer after draining")
	}
}

// TestWriterFlushWaitsAboveHighWater: a caller that finds the queue above
// the high-water mark waits until the writing goroutine drains it.
func TestWriterFlushWaitsAboveHighWater(t *testing.T) {
	leakcheck.Check(t)
	g, w, first := blockedWriter(t, 64)
	if err := w.Finish(dataOf(20)(w.Start()), Flush); err != nil { // 29 bytes: below the mark
		t.Fatal(err)
	}
	big := finish(w, Flush, dataOf(100))
	waitingInFinish(t, big)
	if q := w.Queued(); q != 29+109 {
		t.Fatalf("Queued %d", q)
	}
	close(g.release)
	for _, errc := range []<-chan error{first, big} {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	if got := len(g.bytes()); got != 17+29+109 {
		t.Fatalf("%d bytes written", got)
	}
}

// TestWriterFlushAsyncNeverBlocks: FlushAsync returns at once even with the
// connection blocked, and refuses once the queue passes maxQueued.
func TestWriterFlushAsyncNeverBlocks(t *testing.T) {
	leakcheck.Check(t)
	g := newGateWriter()
	w := NewWriter(g)
	w.SetLimits(64, 256)
	if err := w.Finish(ping(w.Start()), FlushAsync); err != nil {
		t.Fatal(err)
	}
	waitFor(t, g.entered, "the background write")
	for i, c := range []struct {
		n    int
		want error
	}{{100, nil}, {100, nil}, {100, ErrWriteQueueFull}, {1, ErrWriteQueueFull}} {
		if err := w.Finish(dataOf(c.n)(w.Start()), FlushAsync); err != c.want {
			t.Fatalf("call %d: %v, want %v (queued %d)", i, err, c.want, w.Queued())
		}
	}
	g.expect(17 + 3*109 + 10)
	close(g.release)
	waitFor(t, g.full, "the queue written")
	eventually(t, "writer idle", w.Idle)
}

func TestWriterErrorIsSticky(t *testing.T) {
	for _, mode := range []FlushMode{Flush, FlushAsync} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			leakcheck.Check(t)
			g := newOpenWriter()
			g.err = errBroken
			w := NewWriter(g)
			err := w.Finish(ping(w.Start()), mode)
			eventually(t, "the error", func() bool { return w.Err() != nil })
			if mode == Flush && err != errBroken {
				t.Fatalf("Finish: %v", err)
			}
			for range 3 {
				if err := w.Finish(ping(w.Start()), Flush); err != errBroken {
					t.Fatalf("later Finish: %v", err)
				}
				if err := w.Finish(ping(w.Start()), NoFlush); err != errBroken {
					t.Fatalf("later Finish: %v", err)
				}
			}
			if n, err := w.Write([]byte(ClientPreface)); n != 0 || err != errBroken {
				t.Fatalf("Write: %d, %v", n, err)
			}
			if w.Writes() != 1 || w.Queued() != 0 || w.pend != nil {
				t.Fatalf("after the error: %d writes, %d queued", w.Writes(), w.Queued())
			}
		})
	}
}

// TestWriterFail: Fail wakes callers waiting for room and makes every later
// Finish fail; the first error given is kept.
func TestWriterFail(t *testing.T) {
	leakcheck.Check(t)
	g, w, first := blockedWriter(t, 10)
	waiting := finish(w, Flush, dataOf(100))
	waitingInFinish(t, waiting)
	errGone := errors.New("connection gone")
	w.Fail(errGone)
	w.Fail(errBroken)
	if err := <-waiting; err != errGone {
		t.Fatalf("waiting caller: %v", err)
	}
	if w.Queued() != 0 {
		t.Fatalf("%d bytes still queued after Fail", w.Queued())
	}
	close(g.release)
	if err := <-first; err != errGone {
		t.Fatalf("writing caller: %v", err)
	}
	if err := w.Finish(ping(w.Start()), Flush); err != errGone {
		t.Fatalf("later Finish: %v", err)
	}
	if w.Err() != errGone {
		t.Fatalf("Err: %v", w.Err())
	}
}

func TestWriterNoFlush(t *testing.T) {
	leakcheck.Check(t)
	g := newOpenWriter()
	w := NewWriter(g)
	if err := w.Finish(w.Start(), NoFlush); err != nil || !w.Idle() || w.pend != nil {
		t.Fatalf("an empty NoFlush holds a buffer: %v", err)
	}
	if err := w.Finish(ping(w.Start()), NoFlush); err != nil {
		t.Fatal(err)
	}
	if w.Queued() != 17 || w.Writes() != 0 || w.Idle() {
		t.Fatalf("NoFlush: %d queued, %d writes", w.Queued(), w.Writes())
	}
	if n, err := w.Write([]byte(ClientPreface)); n != len(ClientPreface) || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if w.Writes() != 1 || !bytes.Equal(g.bytes(), append(ping(nil), ClientPreface...)) {
		t.Fatalf("%d writes of % x", w.Writes(), g.bytes())
	}
	if !w.Idle() || w.pend != nil {
		t.Fatal("buffer held after the flush")
	}
}

// TestWriterWaitIdle: WaitIdle returns once a blocked write completes, and
// at the deadline while it stays blocked.
func TestWriterWaitIdle(t *testing.T) {
	release := make(chan struct{})
	w := NewWriter(writerFunc(func(p []byte) (int, error) {
		<-release
		return len(p), nil
	}))
	if !w.WaitIdle(time.Now().Add(time.Second)) {
		t.Fatal("a new Writer is not idle")
	}
	go w.Finish(AppendPing(w.Start(), false, [8]byte{}), Flush)
	for w.Idle() {
		runtime.Gosched() // until the write is in progress
	}
	start := time.Now()
	if w.WaitIdle(start.Add(20 * time.Millisecond)) {
		t.Fatal("idle while a write is blocked")
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("returned before the deadline")
	}
	close(release)
	if !w.WaitIdle(time.Now().Add(5 * time.Second)) {
		t.Fatal("not idle after the write completed")
	}
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
