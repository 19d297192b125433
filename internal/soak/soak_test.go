package soak

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/internal/lifecycle"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

var (
	settings = lifecycle.NewSettings("soak", 2*time.Second)
	servers  = flag.Int("soak.servers", 3, "servers in the soak, each with a client connection of its own")
	workers  = flag.Int("soak.workers", 16, "goroutines making calls in the soak")
)

const (
	callTimeout = 30 * time.Second // longer is a hang
	stopTimeout = 30 * time.Second // a stop that takes longer is a hang
	heapSlack   = 1 << 20          // the heap may end this much above its baseline
	maxReported = 20               // failures reported in full; the rest are counted
)

// TestSoak makes calls of the four kinds, from -soak.workers goroutines,
// to -soak.servers servers on loopback for -soak.duration (SOAK_DURATION;
// seed -soak.seed, SOAK_SEED), while every server is stopped now and then,
// gracefully or hard, and started again on the same port, and a fifth of
// the calls are cancelled or given a short deadline, and a tenth wait for
// a connection (WaitForReady). Every call must end
// with its exact reply or a status that says how far it got: OK calls must
// have been completed by the server (none acknowledged and lost);
// Unavailable must mean that the server never started the call unless a
// hard stop overlapped it; Canceled and DeadlineExceeded only come from
// the call's own context. Afterwards the goroutines and the heap must be
// back at their baseline (heap in use within 1 MiB).
func TestSoak(t *testing.T) {
	leakcheck.Check(t)
	rng, _ := settings.Rand(t)
	d := settings.Duration(t)
	if *servers < 1 || *workers < 1 {
		t.Fatalf("-soak.servers=%d -soak.workers=%d: both must be at least 1", *servers, *workers)
	}
	// A short first run, so that what the stack makes once (pools,
	// tables) is part of the baseline.
	soak(t, rng, 200*time.Millisecond, 1, 2)
	goroutines, heap := baseline()
	sum := soak(t, rng, d, *servers, *workers)
	t.Logf("soak: %v", sum)
	checkBaseline(t, goroutines, heap)
}

// soak runs the servers, the stops and the calls for d, and returns what
// the calls came to.
func soak(t *testing.T, rng *rand.Rand, d time.Duration, nServers, nWorkers int) *summary {
	l := new(ledger)
	slots := make([]*slot, nServers)
	for i := range slots {
		s := &slot{l: l}
		if err := s.start(); err != nil {
			t.Fatal(err)
		}
		cc, err := stub.NewClient(s.addr, stub.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		s.cc, s.client = cc, pb.NewEchoClient(cc)
		slots[i] = s
	}
	ctx, stopChaos := context.WithCancel(context.Background())
	var chaos, calls sync.WaitGroup
	live := make([]bool, nServers)
	for i, s := range slots {
		r := rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))
		chaos.Go(func() { live[i] = s.chaos(ctx, t, r) })
	}
	start := time.Now()
	end := start.Add(d)
	var ids atomic.Uint64
	ws := make([]*worker, nWorkers)
	for i := range ws {
		w := &worker{rng: rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64())), slots: slots, ids: &ids, l: l, sum: newSummary()}
		ws[i] = w
		calls.Go(func() {
			for time.Now().Before(end) {
				w.one()
			}
		})
	}
	calls.Wait()
	sum := newSummary()
	sum.took = time.Since(start)
	stopChaos()
	chaos.Wait()
	for i, s := range slots {
		s.cc.Close()
		if !live[i] {
			continue // it failed to stop or start; that was reported
		}
		if err := s.stop(false, stopTimeout); err != nil {
			t.Errorf("%v\n%s", err, stacks())
		}
		sum.graceful += s.graceful
		sum.hard += s.hard
	}
	for _, w := range ws {
		sum.merge(w.sum)
	}
	for _, f := range sum.failures {
		t.Error(f)
	}
	if sum.failed > len(sum.failures) {
		t.Errorf("%d more calls went wrong", sum.failed-len(sum.failures))
	}
	return sum
}

// chaos stops the slot's server every 0.5 to 2 s, hard one time in three,
// and starts it again on the same port after up to 50 ms, until ctx ends.
// It reports whether the server is still in order.
func (s *slot) chaos(ctx context.Context, t *testing.T, rng *rand.Rand) bool {
	for {
		timer := time.NewTimer(500*time.Millisecond + time.Duration(rng.Int64N(int64(1500*time.Millisecond))))
		select {
		case <-ctx.Done():
			timer.Stop()
			return true
		case <-timer.C:
		}
		if err := s.stop(rng.IntN(3) == 0, stopTimeout); err != nil {
			t.Errorf("%v\n%s", err, stacks())
			return false
		}
		time.Sleep(time.Duration(rng.Int64N(int64(50 * time.Millisecond))))
		if err := s.start(); err != nil {
			t.Error(err)
			return false
		}
	}
}

// worker makes one call after another.
type worker struct {
	rng   *rand.Rand
	slots []*slot
	ids   *atomic.Uint64
	l     *ledger
	sum   *summary
}

// one makes one call of a random kind to a random server, maybe with a
// fault, and files its outcome.
func (w *worker) one() {
	s := w.slots[w.rng.IntN(len(w.slots))]
	k := lifecycle.Kinds[w.rng.IntN(len(lifecycle.Kinds))]
	id := w.ids.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	var cancelled atomic.Bool
	ownDeadline := false
	fault := "none"
	switch w.rng.IntN(10) {
	case 0:
		fault = "cancel"
		t := time.AfterFunc(time.Duration(w.rng.Int64N(int64(2*time.Millisecond))), func() {
			cancelled.Store(true)
			cancel()
		})
		defer t.Stop()
	case 1:
		fault, ownDeadline = "deadline", true
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, time.Duration(w.rng.Int64N(int64(5*time.Millisecond))))
		defer stop()
	}
	var opts []stub.CallOption
	if w.rng.IntN(10) == 0 {
		opts = append(opts, stub.WaitForReady(true))
	}
	hardEnded := s.hardEnded.Load()
	wrong, err := w.call(ctx, s.client, k, id, opts)
	hard := s.hardBegun.Load() > hardEnded

	fail := func(format string, args ...any) {
		w.sum.fail(fmt.Sprintf("call %d (%v to %s, fault %s, wait-for-ready %v): %s", id, k, s.addr, fault, len(opts) > 0, fmt.Sprintf(format, args...)))
	}
	code := status.Code(err)
	switch {
	case wrong != "":
		fail("%s", wrong)
	case err == nil:
		if !w.l.completed.has(id) {
			fail("ended OK but the server never completed it: acknowledged and lost")
		}
	case !isStatus(err):
		fail("ended with %q (%T), not a status error", err, err)
	case code == codes.Canceled && !cancelled.Load():
		fail("ended Canceled (%v) without being cancelled", err)
	case code == codes.DeadlineExceeded && !ownDeadline:
		fail("ended DeadlineExceeded (%v) without a deadline of its own: it hung for %v", err, callTimeout)
	case code == codes.Unavailable && w.l.started.has(id) && !hard:
		fail("ended Unavailable (%v) after the server had started it, with no hard stop during the call: Unavailable must mean unprocessed", err)
	case code != codes.Canceled && code != codes.DeadlineExceeded && code != codes.Unavailable:
		fail("ended %v (%v)", code, err)
	}
	w.sum.add(k, outcome(code, w.l.started.has(id), w.l.completed.has(id)))
}

func isStatus(err error) bool {
	_, ok := status.FromError(err)
	return ok
}

// outcome names what a call came to, for the summary.
func outcome(c codes.Code, started, completed bool) string {
	switch {
	case c == codes.OK:
		return "OK"
	case !started:
		return c.String() + ", never reached a handler"
	case completed:
		return c.String() + ", completed by its handler"
	default:
		return c.String() + ", reached a handler that did not complete it"
	}
}

// body returns a random request body: mostly short, sometimes 1 or 16 KiB.
func (w *worker) body() string {
	switch x := w.rng.IntN(20); {
	case x == 0:
		return strings.Repeat("s", 16<<10)
	case x < 5:
		return strings.Repeat("k", 1<<10)
	default:
		return strings.Repeat("b", w.rng.IntN(64))
	}
}

// call makes call id of kind k. It returns a description of a wrong
// reply, or the call's error.
func (w *worker) call(ctx context.Context, c pb.EchoClient, k lifecycle.Kind, id uint64, opts []stub.CallOption) (wrong string, err error) {
	body := w.body()
	n := 1 + w.rng.IntN(4)
	reqs := make([]string, n)
	for i := range reqs {
		reqs[i] = request(id, i, body)
	}
	wrongReply := func(what, got, want string) string {
		return fmt.Sprintf("%s %.60q, want %.60q", what, got, want)
	}
	switch k {
	case lifecycle.Unary:
		r, err := c.Unary(ctx, &pb.Request{Payload: reqs[0]}, opts...)
		if err != nil {
			return "", err
		}
		if want := reply(reqs[0]); r.GetPayload() != want {
			return wrongReply("reply", r.GetPayload(), want), nil
		}
	case lifecycle.ServerStream:
		count := int32(n)
		s, err := c.ServerStream(ctx, &pb.Request{Payload: reqs[0], Count: &count}, opts...)
		if err != nil {
			return "", err
		}
		for i := 0; ; i++ {
			m, err := s.Recv()
			if err == io.EOF && i == n {
				return "", nil
			}
			if err == io.EOF {
				return fmt.Sprintf("ended OK after %d of %d responses", i, n), nil
			}
			if err != nil {
				return "", err
			}
			if want := streamReply(reqs[0], i); i >= n || m.GetPayload() != want {
				return wrongReply(fmt.Sprintf("response %d", i), m.GetPayload(), want), nil
			}
		}
	case lifecycle.ClientStream:
		s, err := c.ClientStream(ctx, opts...)
		if err != nil {
			return "", err
		}
		for _, r := range reqs {
			if s.Send(&pb.Request{Payload: r}) != nil {
				break // the call ended; CloseAndRecv says how
			}
		}
		r, err := s.CloseAndRecv()
		if err != nil {
			return "", err
		}
		if want := strings.Join(reqs, "+"); r.GetPayload() != want {
			return wrongReply("reply", r.GetPayload(), want), nil
		}
	case lifecycle.Bidi:
		s, err := c.Bidi(ctx, opts...)
		if err != nil {
			return "", err
		}
		for i, r := range reqs {
			if s.Send(&pb.Request{Payload: r}) != nil {
				break
			}
			m, err := s.Recv()
			if err == io.EOF {
				return fmt.Sprintf("ended OK after %d of %d echoes", i, n), nil
			}
			if err != nil {
				return "", err
			}
			if want := reply(r); m.GetPayload() != want {
				return wrongReply(fmt.Sprintf("echo %d", i), m.GetPayload(), want), nil
			}
		}
		s.CloseSend()
		switch m, err := s.Recv(); err {
		case io.EOF:
		case nil:
			return wrongReply("extra echo", m.GetPayload(), ""), nil
		default:
			return "", err
		}
	}
	return "", nil
}

// summary counts outcomes by call kind.
type summary struct {
	byKind         [len(lifecycle.Kinds)]map[string]int
	calls          int
	took           time.Duration
	graceful, hard int
	failures       []string
	failed         int
}

func newSummary() *summary {
	s := new(summary)
	for k := range s.byKind {
		s.byKind[k] = map[string]int{}
	}
	return s
}

func (s *summary) add(k lifecycle.Kind, outcome string) {
	s.calls++
	s.byKind[k][outcome]++
}

func (s *summary) fail(f string) {
	if s.failed++; len(s.failures) < maxReported {
		s.failures = append(s.failures, f)
	}
}

func (s *summary) merge(o *summary) {
	s.calls += o.calls
	for k, m := range o.byKind {
		for out, n := range m {
			s.byKind[k][out] += n
		}
	}
	for _, f := range o.failures {
		if len(s.failures) < maxReported {
			s.failures = append(s.failures, f)
		}
	}
	s.failed += o.failed
}

func (s *summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d calls in %v (%.0f/s), %d wrong; servers stopped %d times gracefully, %d hard\n",
		s.calls, s.took.Round(time.Millisecond), float64(s.calls)/s.took.Seconds(), s.failed, s.graceful, s.hard)
	for k, m := range s.byKind {
		outs := make([]string, 0, len(m))
		for out := range m {
			outs = append(outs, out)
		}
		slices.Sort(outs)
		fmt.Fprintf(&b, "  %v:\n", lifecycle.Kind(k))
		for _, out := range outs {
			fmt.Fprintf(&b, "    %8d %s\n", m[out], out)
		}
	}
	b.WriteString("  Retrying is safe after Unavailable when no hard stop overlapped the call (the test checks that such calls never reached a handler); " +
		"Canceled, DeadlineExceeded and Unavailable during a hard stop mean the call may have been processed.")
	return b.String()
}

// baseline returns the number of goroutines and the bytes of heap in use,
// after garbage collection.
func baseline() (int, uint64) {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapInuse
}

// checkBaseline fails t unless, within a few seconds, the goroutines are
// back to their number and the heap in use within 1 MiB of its size.
func checkBaseline(t *testing.T, goroutines int, heap uint64) {
	t.Helper()
	var g int
	var h uint64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		g, h = baseline()
		if g <= goroutines && h <= heap+heapSlack || time.Now().After(deadline) {
			break
		}
	}
	if g > goroutines {
		t.Errorf("%d goroutines after the soak, %d before:\n%s", g, goroutines, strings.Join(leakcheck.Stacks(), "\n\n"))
	}
	if h > heap+heapSlack {
		t.Errorf("heap in use %d bytes after the soak, %d before: %d more, over the %d allowed", h, heap, h-heap, heapSlack)
	}
	t.Logf("baseline: %d goroutines and %d bytes of heap in use before, %d and %d after", goroutines, heap, g, h)
}

// stacks returns the stacks of this module's goroutines.
func stacks() string { return strings.Join(leakcheck.New(nil), "\n\n") }
