package frame

import (
	"errors"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/internal/bufpool"
)

// FlushMode says what Writer.Finish does with the bytes it was given.
type FlushMode uint8

const (
	// Flush writes the pending bytes now on the caller's goroutine, unless
	// another goroutine is already writing: then that one writes them too,
	// in its next write call, and the caller returns at once (after waiting
	// for room if the queue is over its high-water mark).
	Flush FlushMode = iota
	// FlushAsync never blocks: if no goroutine is writing, one is started.
	// It is for the goroutine that reads the connection, which must never
	// wait on the peer reading (two peers blocked in writes would deadlock).
	FlushAsync
	// NoFlush leaves the bytes queued for the next flush.
	NoFlush
)

// ErrWriteQueueFull is returned when frames queued without waiting
// (FlushAsync) pile up because the peer does not read: the connection
// should be closed with ENHANCE_YOUR_CALM.
var ErrWriteQueueFull = errors.New("http2: write queue full: peer is not reading")

// Default queue limits of a Writer.
const (
	// DefaultHighWater is the number of queued bytes above which callers of
	// Finish with Flush wait for the writer to drain.
	DefaultHighWater = 256 << 10
	// DefaultMaxQueued is the number of queued bytes above which FlushAsync
	// fails with ErrWriteQueueFull.
	DefaultMaxQueued = 4 << 20
)

// Writer batches frames from many goroutines into few write calls. Frames
// are appended between Start and Finish, under the Writer's lock, so a
// caller's frames (HEADERS with its CONTINUATIONs, HEADERS then DATA) are
// contiguous on the wire. Whoever finds the connection free writes the whole
// queue itself; no goroutine hand-off happens on that path. The Writer holds
// no buffer while nothing is queued.
type Writer struct {
	w         io.Writer
	mu        sync.Mutex
	drained   sync.Cond // signalled after every write call
	pend      *[]byte   // queued bytes; nil when empty
	flushing  bool
	err       error
	highWater int
	maxQueued int
	writes    uint64
	coalesce  func() bool
}

// SetCoalesce installs a hint asked before each write call: when it
// returns true (other goroutines are likely about to queue frames, as when
// many streams are active), the writing goroutine yields the processor once
// before the write, so their frames leave in the same write call. Must be
// called before the Writer is used.
func (w *Writer) SetCoalesce(hint func() bool) { w.coalesce = hint }

// NewWriter returns a Writer on w with the default queue limits.
func NewWriter(w io.Writer) *Writer {
	wr := &Writer{w: w, highWater: DefaultHighWater, maxQueued: DefaultMaxQueued}
	wr.drained.L = &wr.mu
	return wr
}

// SetLimits changes the queue limits (see DefaultHighWater, DefaultMaxQueued).
func (w *Writer) SetLimits(highWater, maxQueued int) {
	w.mu.Lock()
	w.highWater, w.maxQueued = highWater, maxQueued
	w.mu.Unlock()
}

// Start locks the Writer and returns the queue to append frames to. It must
// be followed by exactly one Finish with the grown slice.
func (w *Writer) Start() []byte {
	w.mu.Lock()
	if w.pend == nil {
		w.pend = bufpool.Get(4 << 10)
	}
	return *w.pend
}

// StartSize is Start for a caller about to append about n bytes: the queue
// it returns has room for them, taken from the buffer pool rather than
// grown by append.
func (w *Writer) StartSize(n int) []byte {
	w.mu.Lock()
	if w.pend == nil {
		w.pend = bufpool.Get(max(4<<10, n))
	} else if cap(*w.pend)-len(*w.pend) < n {
		nb := bufpool.Get(len(*w.pend) + n)
		*nb = append(*nb, *w.pend...)
		bufpool.Put(w.pend)
		w.pend = nb
	}
	return *w.pend
}

// Finish stores the queue that Start returned, grown by the caller, and
// unlocks. It returns the first write error the connection saw, if any.
func (w *Writer) Finish(buf []byte, mode FlushMode) error {
	*w.pend = buf
	if w.err != nil {
		w.dropLocked()
		err := w.err
		w.mu.Unlock()
		return err
	}
	switch mode {
	case NoFlush:
		w.dropLocked()
	case FlushAsync:
		if !w.flushing {
			w.flushing = true
			go w.flushAsync()
		} else if len(*w.pend) > w.maxQueued {
			w.mu.Unlock()
			return ErrWriteQueueFull
		}
	case Flush:
		if !w.flushing {
			w.flushing = true
			if w.coalesce != nil && w.coalesce() {
				w.mu.Unlock()
				runtime.Gosched()
				w.mu.Lock()
			}
			w.flushLocked()
			w.flushing = false
			w.drained.Broadcast()
		} else {
			for w.flushing && w.err == nil && w.pend != nil && len(*w.pend) > w.highWater {
				w.drained.Wait()
			}
		}
	}
	err := w.err
	w.mu.Unlock()
	return err
}

// Write queues p as raw bytes and flushes; for the connection preface.
func (w *Writer) Write(p []byte) (int, error) {
	buf := append(w.Start(), p...)
	if err := w.Finish(buf, Flush); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flushLocked writes the queue until it is empty. w.mu is held on entry and
// exit but not during writes, so others can queue more meanwhile.
func (w *Writer) flushLocked() {
	for w.err == nil && w.pend != nil && len(*w.pend) > 0 {
		p := w.pend
		w.pend = nil
		w.mu.Unlock()
		_, err := w.w.Write(*p)
		bufpool.Put(p)
		w.mu.Lock()
		w.writes++
		if err != nil {
			w.err = err
		}
		w.drained.Broadcast()
	}
	w.dropLocked()
}

func (w *Writer) flushAsync() {
	w.mu.Lock()
	w.flushLocked()
	w.flushing = false
	w.drained.Broadcast()
	w.mu.Unlock()
}

// dropLocked releases the queue buffer when it is empty or when writing has
// failed.
func (w *Writer) dropLocked() {
	if w.pend != nil && (len(*w.pend) == 0 || w.err != nil) {
		bufpool.Put(w.pend)
		w.pend = nil
	}
}

// Discard drops the frames queued and not yet handed to a write call; a
// write in progress finishes. The queue holds whole frames, so what is
// written next starts on a frame boundary. For a connection about to be
// closed, whose peer must get GOAWAY without waiting behind frames it
// will never use.
func (w *Writer) Discard() {
	w.mu.Lock()
	if w.pend != nil {
		*w.pend = (*w.pend)[:0]
		w.dropLocked()
	}
	w.mu.Unlock()
}

// Fail makes every later Finish return err; used when the connection dies.
func (w *Writer) Fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.dropLocked()
	w.drained.Broadcast()
	w.mu.Unlock()
}

// Err returns the write error, if any.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Queued reports the number of bytes waiting to be written.
func (w *Writer) Queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pend == nil {
		return 0
	}
	return len(*w.pend)
}

// Writes reports how many write calls the Writer has made.
func (w *Writer) Writes() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// WaitIdle waits until nothing is queued and no write is in progress, the
// Writer has failed, or the deadline passes; it reports whether the Writer
// drained without error.
func (w *Writer) WaitIdle(deadline time.Time) bool {
	t := time.AfterFunc(time.Until(deadline), func() {
		w.mu.Lock()
		w.drained.Broadcast()
		w.mu.Unlock()
	})
	defer t.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for (w.flushing || w.pend != nil) && w.err == nil && time.Now().Before(deadline) {
		w.drained.Wait()
	}
	return !w.flushing && w.pend == nil && w.err == nil
}

// Idle reports whether nothing is queued and no write is in progress.
func (w *Writer) Idle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.flushing && w.pend == nil
}
