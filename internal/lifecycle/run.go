package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

// Env is a server and a client connected to it, for one round of calls.
type Env interface {
	Client
	// Inject strikes with a round fault. A graceful stop may block until
	// the calls in flight end.
	Inject(f Fault)
	// Close closes the client and stops the server.
	Close()
}

// Layer is what Run needs of the layer it tests.
type Layer struct {
	// Start starts a server whose handlers play their part with Serve and
	// l, and a client connected to it.
	Start func(t testing.TB, l *Ledger) Env
	// CallFaults and RoundFaults are the faults the layer can inject.
	CallFaults  []Fault
	RoundFaults []Fault
	// Kinds are the kinds of call made; nil means all four.
	Kinds []Kind
	// OneResponseWithStatus says that the client's RecvMsg returns the
	// response of a client-streaming call only with the call's OK status,
	// as grpc-go's generated clients do; otherwise the response may come
	// before a failure.
	OneResponseWithStatus bool
}

const (
	workers           = 8                // goroutines making calls in a round
	maxCallsPerWorker = 4                // calls one worker makes, one after the other
	callTimeout       = 20 * time.Second // no call may take longer (a hang)
	maxReported       = 20               // wrong calls reported in full; the rest are counted
)

// Run makes rounds of calls of every kind over layer for the duration in
// s: in each, eight goroutines make one to four calls each, every call
// with a fault of its own or none, while a fault of the round (or none)
// strikes at a random time. The time of every fault is drawn against how
// long calls take, measured by a first round without faults. Every call's
// result is checked: the exact responses with OK, or a status the faults
// allow; the response metadata belongs to the call; what the server
// recorded agrees. Run goes on after a wrong call, so that one run shows
// every kind of failure it meets, and fails on goroutines left behind.
func Run(t *testing.T, s *Settings, layer Layer) {
	leakcheck.Check(t)
	rng, _ := s.Rand(t)
	end := time.Now().Add(s.Duration(t))
	pl := newPlanner(rng, layer.Kinds, layer.CallFaults)
	var st stats
	drawRound := func(faults bool) [][]Plan {
		plans := make([][]Plan, workers)
		for w := range plans {
			for range 1 + rng.IntN(maxCallsPerWorker) {
				p := pl.plan()
				if !faults {
					p.Fault, p.Delay = NoFault, 0
				}
				plans[w] = append(plans[w], p)
			}
		}
		return plans
	}

	// A first round without faults tells how long calls and rounds take.
	start := time.Now()
	outs := runRound(t, layer, drawRound(false), NoFault, 0, &st)
	roundLen := time.Since(start)
	pl.lat = latencies(outs)
	t.Logf("calibration: a round takes %v; median call by kind %v", roundLen, pl.lat)

	for round := 1; time.Now().Before(end); round++ {
		rf := NoFault
		if len(layer.RoundFaults) > 0 && rng.IntN(4) > 0 {
			rf = layer.RoundFaults[rng.IntN(len(layer.RoundFaults))]
		}
		at := time.Duration(rng.Int64N(int64(roundLen) + 1))
		runRound(t, layer, drawRound(true), rf, at, &st)
	}
	if st.failed > maxReported {
		t.Errorf("%d more calls went wrong", st.failed-maxReported)
	}
	t.Logf("%d rounds, %d calls, %d wrong\n%s", st.rounds, st.calls, st.failed, st.summary())
}

// runRound makes one round of calls and checks them.
func runRound(t *testing.T, layer Layer, plans [][]Plan, rf Fault, at time.Duration, st *stats) []*Outcome {
	t.Helper()
	l := NewLedger()
	env := layer.Start(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	outs := make([][]*Outcome, len(plans))
	var calls, fault sync.WaitGroup
	for w, ps := range plans {
		calls.Go(func() {
			for _, p := range ps {
				outs[w] = append(outs[w], run(ctx, env, p))
			}
		})
	}
	if rf != NoFault {
		fault.Go(func() {
			time.Sleep(at)
			env.Inject(rf)
		})
	}
	if !waitFor(&calls, callTimeout+10*time.Second) {
		t.Fatalf("round fault %v after %v: calls still running after %v:\n%s", rf, at, callTimeout+10*time.Second, stacks())
	}
	if !waitFor(&fault, 10*time.Second) {
		t.Fatalf("round fault %v after %v: still injecting 10 s after the calls ended:\n%s", rf, at, stacks())
	}
	closed := make(chan struct{})
	go func() {
		env.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("round fault %v: closing the client and the server takes more than 10 s:\n%s", rf, stacks())
	}
	if !l.waitIdle(5 * time.Second) {
		t.Errorf("round fault %v: %d handlers still running 5 s after the server stopped:\n%s", rf, l.active.Load(), stacks())
	}
	all := slices.Concat(outs...)
	st.rounds++
	for _, o := range all {
		st.add(o)
		if ps := o.problems(rf, l, layer.OneResponseWithStatus); len(ps) > 0 {
			if st.failed++; st.failed > maxReported {
				continue
			}
			t.Errorf("round fault %v after %v; %v (took %v):\n\t%s", rf, at, &o.Plan, o.Took, strings.Join(ps, "\n\t"))
		}
	}
	return all
}

func waitFor(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// stacks returns the stacks of this module's goroutines.
func stacks() string { return strings.Join(leakcheck.New(nil), "\n\n") }

// latencies returns the median time a call of each kind took; a kind
// without calls gets the median of all.
func latencies(outs []*Outcome) [len(Kinds)]time.Duration {
	var by [len(Kinds)][]time.Duration
	var all []time.Duration
	for _, o := range outs {
		by[o.Plan.Kind] = append(by[o.Plan.Kind], o.Took)
		all = append(all, o.Took)
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	var lat [len(Kinds)]time.Duration
	for k := range lat {
		switch {
		case len(by[k]) > 0:
			lat[k] = median(by[k])
		case len(all) > 0:
			lat[k] = median(all)
		}
		lat[k] = max(lat[k], 50*time.Microsecond)
	}
	return lat
}

// stats counts the outcomes of a run.
type stats struct {
	rounds, calls int
	failed        int // calls that went wrong
	byKind        [len(Kinds)]map[codes.Code]int
}

func (s *stats) add(o *Outcome) {
	s.calls++
	m := &s.byKind[o.Plan.Kind]
	if *m == nil {
		*m = map[codes.Code]int{}
	}
	(*m)[status.Code(o.Err)]++
}

func (s *stats) summary() string {
	var b strings.Builder
	for k, m := range s.byKind {
		if len(m) == 0 {
			continue
		}
		var cs []codes.Code
		for c := range m {
			cs = append(cs, c)
		}
		slices.Sort(cs)
		fmt.Fprintf(&b, "  %v:", Kind(k))
		for _, c := range cs {
			fmt.Fprintf(&b, " %v %d", c, m[c])
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// RunUnaryCancel runs only unary calls, most with a context cancelled or
// expiring after zero to two call latencies, so that the end of each call
// races with its context's callback; start is the layer's Layer.Start.
func RunUnaryCancel(t *testing.T, start func(t testing.TB, l *Ledger) Env) {
	Run(t, Lifecycle, Layer{Start: start, Kinds: []Kind{Unary}, CallFaults: []Fault{Cancel, Deadline}})
}
