package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
)

// Kind is the kind of a gRPC method.
type Kind uint8

const (
	// Unary sends one request and receives one response.
	Unary Kind = iota
	// ServerStream sends one request and receives a stream of responses.
	ServerStream
	// ClientStream sends a stream of requests and receives one response.
	ClientStream
	// BidiStream sends and receives streams of messages at the same time.
	BidiStream
)

// String names the kind as the protobuf descriptor would.
func (k Kind) String() string {
	switch k {
	case Unary:
		return "unary"
	case ServerStream:
		return "server-streaming"
	case ClientStream:
		return "client-streaming"
	case BidiStream:
		return "bidi-streaming"
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Workload is what every call of a run does.
type Workload struct {
	// Method is the full method name, "/package.Service/Method".
	Method string
	Kind   Kind
	// Requests are the encoded request messages; call n sends Requests[n
	// mod len], streams send them in turn from there.
	Requests [][]byte
	// Timeout bounds each call (zero: none).
	Timeout time.Duration
	// StreamCount is the number of messages a client or bidi stream
	// sends (zero: len(Requests)).
	StreamCount int
	// StreamInterval is the pause between two messages of a stream.
	StreamInterval time.Duration
	// StreamDuration, when positive, ends the sending side of a client or
	// bidi stream after this long, whatever StreamCount says.
	StreamDuration time.Duration
}

// Stream is the client side of one streaming call, as a Transport makes it.
type Stream interface {
	// Send sends one encoded message.
	Send(msg []byte) error
	// CloseSend ends the request side.
	CloseSend() error
	// Recv receives the next message; after the last it returns io.EOF
	// when the call succeeded, else the call's status error.
	Recv() error
}

// Worker makes calls, one at a time, over one connection of a Transport.
// Its errors are status errors of package channel/status.
type Worker interface {
	// Unary makes one unary call sending msg.
	Unary(ctx context.Context, method string, msg []byte) error
	// NewStream starts a streaming call.
	NewStream(ctx context.Context, method string) (Stream, error)
}

// Transport is the client stack under test: h2rpc's own (NewH2Transport),
// or another one driven through the same generator.
type Transport interface {
	// Connect opens connection i of n and waits until it is ready.
	Connect(ctx context.Context, i int) error
	// Worker returns a worker that calls over connection i.
	Worker(i int) Worker
	// Gone reports whether the server can no longer be reached over
	// connection i (asked after a call fails with UNAVAILABLE).
	Gone(i int) bool
	// Close closes every connection.
	Close() error
}

// Config is a run: the workload, the load model and how long it lasts.
type Config struct {
	Workload
	// Concurrency is the number of calls in flight at most (-c); in a
	// closed loop, exactly that many workers call back to back.
	Concurrency int
	// Connections spreads the workers over this many connections
	// (--connections); calls on one connection are multiplexed streams.
	Connections int
	// Total ends the run after this many calls (-n) when Duration is
	// zero.
	Total uint64
	// Duration ends the run after this long (-z), warm-up excluded.
	Duration time.Duration
	// Warmup is run first, and not recorded.
	Warmup time.Duration
	// SkipFirst calls are not recorded either (ghz's --skipFirst).
	SkipFirst uint64
	// Rate, when set, makes the run an open loop: calls are started on
	// its schedule, each measured from its intended start.
	Rate *Schedule
	// Uncorrected, with Rate, paces calls on the schedule but measures
	// each from its actual start, as tools without coordinated-omission
	// correction do (ghz's -r): a closed loop held to a rate.
	Uncorrected bool
	// ConcurrencySchedule, when set in a closed loop, changes how many
	// workers call over time (up to Concurrency).
	ConcurrencySchedule *Schedule
	// LateAfter is how far behind its intended start an open-loop call
	// may start before it counts as late (default 1 ms).
	LateAfter time.Duration
	// Interval is the width of the points of the time series (default 1 s).
	Interval time.Duration
	// Progress, when set, is called after every interval with the run so
	// far.
	Progress func(Progress)
	// Wire, when set, holds the wire counters of the transport's
	// connections, read at the start and the end of the measurement.
	Wire *WireCounters
}

// Progress is what a run has done so far.
type Progress struct {
	Elapsed, Left time.Duration // left: zero when the run ends by count
	Calls, Errors uint64
	Rate          float64 // calls/s over the last interval
	P99           time.Duration
	Warmup        bool
}

// Point is one interval of the time series.
type Point struct {
	// At is the end of the interval, from the start of the measurement.
	At     time.Duration `json:"at"`
	Calls  uint64        `json:"calls"`
	Errors uint64        `json:"errors"`
	Rate   float64       `json:"rate"`
	P50    time.Duration `json:"p50"`
	P90    time.Duration `json:"p90"`
	P99    time.Duration `json:"p99"`
	Max    time.Duration `json:"max"`
}

// Result is what a run measured.
type Result struct {
	Start time.Time
	// Elapsed is the measurement's wall time: from the end of the warm-up
	// to the end of the last recorded call.
	Elapsed time.Duration
	// Count is the number of calls recorded, OK and failed.
	Count, OK uint64
	Latency   *Histogram
	// Codes counts recorded calls by status code name ("OK", "Unavailable").
	Codes map[string]uint64
	// ErrorMessages counts failed calls by error text (at most
	// maxErrorTexts distinct texts; others under "other errors").
	ErrorMessages map[string]uint64
	// Open-loop only: calls started later than Config.LateAfter after
	// their intended start, the largest delay, and calls whose intended
	// start passed before the run ended without their being sent.
	Late, Dropped uint64
	MaxLag        time.Duration
	// Sent and Received count the messages of the recorded calls.
	Sent, Received uint64
	Series         []Point
	// Stopped says why the run ended early ("" when it did not).
	Stopped string
	// Usage is the generator's own CPU time during the measurement.
	Usage CPUUsage
	// Wire is the traffic of the measurement, when counted.
	Wire *WireStats
	// OpenLoop reports that latency was measured from intended starts.
	OpenLoop bool
}

// Rate returns calls per second.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Count) / r.Elapsed.Seconds()
}

// Errors returns the number of failed calls.
func (r *Result) Errors() uint64 { return r.Count - r.OK }

// CPUPerCall returns the generator's CPU time per recorded call.
func (r *Result) CPUPerCall() time.Duration {
	if r.Count == 0 {
		return 0
	}
	return r.Usage.Total() / time.Duration(r.Count)
}

const maxErrorTexts = 64

// ErrServerGone is wrapped by the Stopped message's error when the server
// went away during the run.
var ErrServerGone = errors.New("the server went away")

// run is the state shared by a run's workers.
type run struct {
	cfg       *Config
	tr        Transport
	ctx       context.Context
	stop      context.CancelCauseFunc
	t0        time.Time // start, warm-up included
	measureAt time.Time // end of the warm-up
	end       time.Time // zero: ends by count

	seq     atomic.Uint64 // calls started
	slots   atomic.Uint64 // open loop: slots claimed
	total   *Histogram
	window  atomic.Pointer[Histogram]
	winErr  atomic.Uint64
	codes   [17]atomic.Uint64
	other   atomic.Uint64 // codes out of range
	late    atomic.Uint64
	maxLag  atomic.Int64
	sent    atomic.Uint64
	recv    atomic.Uint64
	lastEnd atomic.Int64 // ns since t0 of the last recorded call's end

	mu       sync.Mutex
	messages map[string]uint64
	stopped  string
}

// Run drives tr with cfg's load and returns what it measured. It returns
// an error only when the run could not start (a connection failed); a
// run cut short (ctx ended, the server went away) returns its partial
// results with Result.Stopped saying why.
func Run(ctx context.Context, tr Transport, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	for i := range cfg.Connections {
		if err := tr.Connect(ctx, i); err != nil {
			return nil, err
		}
	}
	r := &run{cfg: &cfg, tr: tr, total: NewHistogram(), messages: map[string]uint64{}}
	r.window.Store(NewHistogram())
	r.ctx, r.stop = context.WithCancelCause(ctx)
	defer r.stop(nil)
	r.t0 = time.Now()
	r.measureAt = r.t0.Add(cfg.Warmup)
	if cfg.Duration > 0 {
		r.end = r.measureAt.Add(cfg.Duration)
	}

	var startUsage CPUUsage
	var startWire WireStats
	snapStart := func() {
		startUsage = ReadCPUUsage()
		if cfg.Wire != nil {
			startWire = cfg.Wire.Snapshot()
		}
	}
	if cfg.Warmup <= 0 {
		snapStart()
	}

	var wg sync.WaitGroup
	for i := range cfg.Concurrency {
		w := tr.Worker(i % cfg.Connections)
		wg.Go(func() { r.work(i, i%cfg.Connections, w) })
	}
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()

	series := r.watch(workersDone, cfg.Warmup > 0, snapStart)
	endUsage := ReadCPUUsage()

	res := &Result{
		Start:         r.measureAt,
		Latency:       r.total,
		Codes:         map[string]uint64{},
		ErrorMessages: r.messages,
		Late:          r.late.Load(),
		MaxLag:        time.Duration(r.maxLag.Load()),
		Sent:          r.sent.Load(),
		Received:      r.recv.Load(),
		Series:        series,
		Usage:         endUsage.Sub(startUsage),
		OpenLoop:      cfg.Rate != nil && !cfg.Uncorrected,
	}
	if cfg.Wire != nil {
		w := cfg.Wire.Snapshot()
		w = w.Sub(startWire)
		res.Wire = &w
	}
	res.Count = r.total.Count()
	res.OK = r.codes[codes.OK].Load()
	for c := range r.codes {
		if n := r.codes[c].Load(); n > 0 {
			res.Codes[codes.Code(c).String()] += n
		}
	}
	if n := r.other.Load(); n > 0 {
		res.Codes["other"] = n
	}
	if last := time.Duration(r.lastEnd.Load()); last > 0 {
		res.Elapsed = last - r.measureAt.Sub(r.t0)
	}
	if cfg.Rate != nil && !r.end.IsZero() {
		// Slots whose intended start fell inside the run but were never
		// sent: the generator could not keep up.
		due := cfg.Rate.Slots(r.end.Sub(r.t0))
		if claimed := r.slots.Load(); due > claimed {
			res.Dropped = due - claimed
		}
	}
	r.mu.Lock()
	res.Stopped = r.stopped
	r.mu.Unlock()
	if res.Stopped == "" && ctx.Err() != nil {
		res.Stopped = "interrupted: " + context.Cause(ctx).Error()
	}
	return res, nil
}

func (c *Config) check() error {
	switch {
	case c.Method == "":
		return errors.New("bench: no method")
	case len(c.Requests) == 0:
		return errors.New("bench: no request message")
	case c.Concurrency <= 0:
		return fmt.Errorf("bench: concurrency must be positive, not %d", c.Concurrency)
	case c.Connections <= 0:
		return fmt.Errorf("bench: connections must be positive, not %d", c.Connections)
	case c.Connections > c.Concurrency:
		return fmt.Errorf("bench: %d connections need at least as many concurrent calls (-c), not %d", c.Connections, c.Concurrency)
	case c.Duration <= 0 && c.Total == 0:
		return errors.New("bench: give a duration or a number of calls")
	}
	if c.Rate != nil {
		if err := c.Rate.check("rate"); err != nil {
			return err
		}
	}
	if c.ConcurrencySchedule != nil {
		if err := c.ConcurrencySchedule.check("concurrency"); err != nil {
			return err
		}
	}
	if c.LateAfter <= 0 {
		c.LateAfter = time.Millisecond
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	return nil
}

// watch cuts the time series every interval until the workers end, takes
// the start snapshot when the warm-up ends, and reports progress.
func (r *run) watch(done <-chan struct{}, warm bool, snapStart func()) []Point {
	var series []Point
	tick := time.NewTicker(r.cfg.Interval)
	defer tick.Stop()
	var warmC <-chan time.Time
	if warm {
		t := time.NewTimer(r.cfg.Warmup)
		defer t.Stop()
		warmC = t.C
	}
	var endC <-chan time.Time
	if !r.end.IsZero() {
		t := time.NewTimer(time.Until(r.end))
		defer t.Stop()
		endC = t.C
	}
	last := r.t0
	cut := func(now time.Time) {
		h := r.window.Swap(NewHistogram())
		errs := r.winErr.Swap(0)
		if now.Before(r.measureAt) {
			if r.cfg.Progress != nil {
				r.cfg.Progress(Progress{Elapsed: now.Sub(r.t0), Left: r.left(now), Warmup: true})
			}
			last = now
			return
		}
		p := Point{
			At: now.Sub(r.measureAt), Calls: h.Count(), Errors: errs,
			Rate: float64(h.Count()) / now.Sub(last).Seconds(),
			P50:  h.Quantile(0.5), P90: h.Quantile(0.9), P99: h.Quantile(0.99), Max: h.Max(),
		}
		last = now
		series = append(series, p)
		if r.cfg.Progress != nil {
			var errors uint64
			for c := 1; c < len(r.codes); c++ {
				errors += r.codes[c].Load()
			}
			r.cfg.Progress(Progress{
				Elapsed: now.Sub(r.measureAt), Left: r.left(now),
				Calls: r.total.Count(), Errors: errors + r.other.Load(), Rate: p.Rate, P99: p.P99,
			})
		}
	}
	for {
		select {
		case now := <-tick.C:
			cut(now)
		case <-warmC:
			snapStart()
			r.window.Swap(NewHistogram())
			r.winErr.Store(0)
			last = time.Now()
		case <-endC:
			// Stop the schedule; calls in flight finish.
			endC = nil
		case <-done:
			if now := time.Now(); now.Sub(last) > r.cfg.Interval/10 {
				cut(now)
			}
			return series
		}
	}
}

func (r *run) left(now time.Time) time.Duration {
	if r.end.IsZero() {
		return 0
	}
	return max(r.end.Sub(now), 0)
}

// next returns the time the worker's next call is meant to start, and
// false when the run is over. In a closed loop that is now, once the
// worker may run under the concurrency schedule.
func (r *run) next(id int) (time.Time, bool) {
	for {
		if r.ctx.Err() != nil {
			return time.Time{}, false
		}
		now := time.Now()
		if !r.end.IsZero() && !now.Before(r.end) {
			return time.Time{}, false
		}
		if r.cfg.Rate != nil {
			k := r.slots.Add(1) - 1
			if r.cfg.Total > 0 && r.end.IsZero() && k >= r.cfg.Total+r.cfg.SkipFirst {
				return time.Time{}, false
			}
			at := r.t0.Add(r.cfg.Rate.At(k))
			if !r.end.IsZero() && !at.Before(r.end) {
				return time.Time{}, false
			}
			if d := at.Sub(now); d > 0 {
				if !sleep(r.ctx, d) {
					return time.Time{}, false
				}
			}
			return at, true
		}
		if s := r.cfg.ConcurrencySchedule; s != nil && float64(id) >= s.Value(now.Sub(r.t0)) {
			if !sleep(r.ctx, 10*time.Millisecond) {
				return time.Time{}, false
			}
			continue
		}
		if r.cfg.Total > 0 && r.end.IsZero() && r.seq.Load() >= r.cfg.Total+r.cfg.SkipFirst {
			return time.Time{}, false
		}
		return now, true
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// work is one worker's loop.
func (r *run) work(id, conn int, w Worker) {
	// Calls' contexts derive from one of the worker's own, so that their
	// registration with the parent takes no lock shared by the workers.
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	for {
		intended, ok := r.next(id)
		if !ok {
			return
		}
		n := r.seq.Add(1) - 1
		if r.cfg.Rate == nil && r.cfg.Total > 0 && r.end.IsZero() && n >= r.cfg.Total+r.cfg.SkipFirst {
			return
		}
		start := time.Now()
		sent, recv, err := r.call(ctx, w, n)
		done := time.Now()
		if err != nil && r.ctx.Err() != nil && !r.end.IsZero() && !done.Before(r.end) {
			// Cut off by the end of the run, not by the server.
			return
		}
		if start.Before(r.measureAt) || n < r.cfg.SkipFirst {
			continue
		}
		if r.cfg.Rate != nil {
			lag := start.Sub(intended)
			if lag > r.cfg.LateAfter {
				r.late.Add(1)
			}
			storeMax(&r.maxLag, int64(lag))
		}
		lat := done.Sub(intended)
		if r.cfg.Uncorrected {
			lat = done.Sub(start)
		}
		r.total.Record(lat)
		r.window.Load().Record(lat)
		r.sent.Add(sent)
		r.recv.Add(recv)
		storeMax(&r.lastEnd, int64(done.Sub(r.t0)))
		if err == nil {
			r.codes[codes.OK].Add(1)
			continue
		}
		r.fail(conn, err, done)
	}
}

// fail counts a failed call and ends the run when the server is gone.
func (r *run) fail(conn int, err error, at time.Time) {
	r.winErr.Add(1)
	st, _ := status.FromError(err)
	c := st.Code()
	if int(c) < len(r.codes) {
		r.codes[c].Add(1)
	} else {
		r.other.Add(1)
	}
	msg := err.Error()
	r.mu.Lock()
	if _, ok := r.messages[msg]; ok || len(r.messages) < maxErrorTexts {
		r.messages[msg]++
	} else {
		r.messages["other errors"]++
	}
	r.mu.Unlock()
	if c == codes.Unavailable && r.tr.Gone(conn) {
		r.mu.Lock()
		if r.stopped == "" {
			r.stopped = fmt.Sprintf("%v after %v: %s", ErrServerGone, at.Sub(r.measureAt).Round(time.Millisecond), st.Message())
		}
		r.mu.Unlock()
		r.stop(ErrServerGone)
	}
}

// call makes call n of the workload; it returns the messages sent and
// received.
func (r *run) call(ctx context.Context, w Worker, n uint64) (sent, recv uint64, err error) {
	if r.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.cfg.Timeout)
		defer cancel()
	}
	reqs := r.cfg.Requests
	first := int(n % uint64(len(reqs)))
	if r.cfg.Kind == Unary {
		err := w.Unary(ctx, r.cfg.Method, reqs[first])
		if err == nil {
			return 1, 1, nil
		}
		return 1, 0, err
	}
	st, err := w.NewStream(ctx, r.cfg.Method)
	if err != nil {
		return 0, 0, err
	}
	count := r.cfg.StreamCount
	if count <= 0 {
		count = len(reqs)
	}
	if r.cfg.Kind == ServerStream {
		count = 1
	}
	var recvErr error
	var got atomic.Uint64
	var recvDone chan struct{}
	drain := func() {
		for {
			if err := st.Recv(); err != nil {
				if err != io.EOF {
					recvErr = err
				}
				return
			}
			got.Add(1)
		}
	}
	if r.cfg.Kind == BidiStream {
		recvDone = make(chan struct{})
		go func() { defer close(recvDone); drain() }()
	}
	var stopSend <-chan time.Time
	if r.cfg.StreamDuration > 0 && r.cfg.Kind != ServerStream {
		t := time.NewTimer(r.cfg.StreamDuration)
		defer t.Stop()
		stopSend = t.C
	}
	var sendErr error
send:
	for i := range count {
		if sendErr = st.Send(reqs[(first+i)%len(reqs)]); sendErr != nil {
			break
		}
		sent++
		if r.cfg.StreamInterval > 0 && i+1 < count {
			t := time.NewTimer(r.cfg.StreamInterval)
			select {
			case <-t.C:
			case <-stopSend:
				t.Stop()
				break send
			case <-ctx.Done():
				t.Stop()
				break send
			}
		}
		select {
		case <-stopSend:
			break send
		default:
		}
	}
	st.CloseSend()
	if recvDone != nil {
		<-recvDone
	} else {
		drain()
	}
	if recvErr == nil && sendErr != nil && sendErr != io.EOF {
		recvErr = sendErr
	}
	if recvErr == nil && ctx.Err() != nil {
		recvErr = status.FromContextError(ctx.Err()).Err()
	}
	return sent, got.Load(), recvErr
}

// CodeCounts returns the status codes of res sorted by count, largest first.
func (r *Result) CodeCounts() []NameCount { return sortCounts(r.Codes) }

// ErrorCounts returns the error texts of res sorted by count, largest first.
func (r *Result) ErrorCounts() []NameCount { return sortCounts(r.ErrorMessages) }

// NameCount is one entry of a distribution.
type NameCount struct {
	Name  string
	Count uint64
}

func sortCounts(m map[string]uint64) []NameCount {
	out := make([]NameCount, 0, len(m))
	for k, v := range m {
		out = append(out, NameCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}
