package interop

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
)

// SoakConfig configures rpc_soak and channel_soak: Iterations large unary
// calls spread over NumWorkers workers, each call on the shared connection
// (rpc_soak) or on a new one (channel_soak). The case fails when more than
// MaxFailures calls fail or take longer than
// PerIterationMaxAcceptableLatency, or when OverallTimeout passes before
// every iteration ran. Zero fields take grpc-go's interop client defaults.
type SoakConfig struct {
	Iterations                       int           // default 10
	MaxFailures                      int           // default 0
	PerIterationMaxAcceptableLatency time.Duration // default 1s
	OverallTimeout                   time.Duration // default 10s
	MinTimeBetweenRPCs               time.Duration // per worker; default 0
	NumWorkers                       int           // default 1
	RequestSize                      int           // default 271828
	ResponseSize                     int           // default 314159
}

func (c SoakConfig) withDefaults() SoakConfig {
	if c.Iterations <= 0 {
		c.Iterations = 10
	}
	if c.PerIterationMaxAcceptableLatency <= 0 {
		c.PerIterationMaxAcceptableLatency = time.Second
	}
	if c.OverallTimeout <= 0 {
		c.OverallTimeout = 10 * time.Second
	}
	if c.NumWorkers <= 0 {
		c.NumWorkers = 1
	}
	if c.RequestSize <= 0 {
		c.RequestSize = largeRequestSize
	}
	if c.ResponseSize <= 0 {
		c.ResponseSize = largeResponseSize
	}
	return c
}

// soakResult is what one worker found.
type soakResult struct {
	ran       int
	failures  int
	latencies []time.Duration // of the successful iterations
	firstErr  error
}

// DoSoakTest runs the soak cases. conn returns the client to use for one
// iteration and a function releasing it: the shared client for rpc_soak, a
// client on a new connection for channel_soak. log (nil: none) gets one
// line per iteration and a summary.
func DoSoakTest(ctx context.Context, cfg SoakConfig, conn func() (pb.TestServiceClient, func(), error), log io.Writer) error {
	cfg = cfg.withDefaults()
	if log == nil {
		log = io.Discard
	}
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(log, format+"\n", args...)
	}
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(cfg.OverallTimeout))
	defer cancel()

	results := make([]soakResult, cfg.NumWorkers)
	var wg sync.WaitGroup
	for w := range cfg.NumWorkers {
		// Spread the iterations so that their total is exact.
		n := cfg.Iterations / cfg.NumWorkers
		if w < cfg.Iterations%cfg.NumWorkers {
			n++
		}
		wg.Go(func() {
			r := &results[w]
			for i := range n {
				if ctx.Err() != nil {
					return
				}
				next := time.Now().Add(cfg.MinTimeBetweenRPCs)
				latency, err := soakIteration(ctx, cfg, conn)
				r.ran++
				switch {
				case err != nil:
					r.failures++
					logf("worker %d: soak iteration %d failed: %v", w, i, err)
				case latency > cfg.PerIterationMaxAcceptableLatency:
					r.failures++
					err = fmt.Errorf("took %v, over the acceptable %v", latency.Round(time.Millisecond), cfg.PerIterationMaxAcceptableLatency)
					logf("worker %d: soak iteration %d %v", w, i, err)
				default:
					r.latencies = append(r.latencies, latency)
					logf("worker %d: soak iteration %d succeeded in %v", w, i, latency.Round(time.Microsecond))
				}
				if err != nil && r.firstErr == nil {
					r.firstErr = fmt.Errorf("iteration %d of worker %d: %w", i, w, err)
				}
				if d := time.Until(next); d > 0 {
					if sleep(ctx, d) != nil {
						return
					}
				}
			}
		})
	}
	wg.Wait()

	var ran, failures int
	var latencies []time.Duration
	var firstErr error
	for _, r := range results {
		ran += r.ran
		failures += r.failures
		latencies = append(latencies, r.latencies...)
		if firstErr == nil {
			firstErr = r.firstErr
		}
	}
	slices.Sort(latencies)
	logf("soak: %d/%d iterations succeeded, %d failed, in %v; latency %s",
		ran-failures, cfg.Iterations, failures, time.Since(start).Round(time.Millisecond), latencySummary(latencies))
	if ran != cfg.Iterations {
		return fmt.Errorf("soak: ran %d of %d iterations before the overall timeout of %v", ran, cfg.Iterations, cfg.OverallTimeout)
	}
	if failures > cfg.MaxFailures {
		return fmt.Errorf("soak: %d of %d iterations failed, more than the %d allowed; first: %w", failures, cfg.Iterations, cfg.MaxFailures, firstErr)
	}
	return nil
}

// soakIteration runs one large unary call and returns how long it took.
func soakIteration(ctx context.Context, cfg SoakConfig, conn func() (pb.TestServiceClient, func(), error)) (time.Duration, error) {
	start := time.Now()
	tc, release, err := conn()
	if err != nil {
		return 0, fmt.Errorf("opening a connection: %w", err)
	}
	defer release()
	reply, err := tc.UnaryCall(ctx, largeUnaryRequest(cfg.RequestSize, cfg.ResponseSize))
	if err != nil {
		return 0, fmt.Errorf("UnaryCall failed: %w", err)
	}
	if err := checkPayload("UnaryCall response", reply.GetPayload(), cfg.ResponseSize); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// latencySummary formats the median, 90th percentile and maximum of sorted
// latencies.
func latencySummary(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return "n/a"
	}
	q := func(f float64) time.Duration { return sorted[int(f*float64(len(sorted)-1))] }
	return fmt.Sprintf("p50 %v, p90 %v, max %v", q(0.5).Round(time.Microsecond), q(0.9).Round(time.Microsecond), sorted[len(sorted)-1].Round(time.Microsecond))
}
