package torture

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
)

// ProbeStats are what the well-behaved client saw over a stretch of time.
type ProbeStats struct {
	// Calls is the number of calls started, Served those the server
	// answered (response headers, whatever the status) within the
	// probe's timeout.
	Calls  int `json:"calls"`
	Served int `json:"served"`
	// P50 and P99 are percentiles of the latency of the served calls.
	P50 Seconds `json:"p50_seconds"`
	P99 Seconds `json:"p99_seconds"`
	// LastFailure describes the last call that was not served.
	LastFailure string `json:"last_failure,omitempty"`
}

// OKRatio is the fraction of calls served; 0 when there were none.
func (s ProbeStats) OKRatio() float64 {
	if s.Calls == 0 {
		return 0
	}
	return float64(s.Served) / float64(s.Calls)
}

// window collects the probe's calls over one stretch of time.
type window struct {
	mu       sync.Mutex
	inflight sync.WaitGroup
	lat      []time.Duration
	calls    int
	lastFail string
}

func (w *window) record(lat time.Duration, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if err != nil {
		w.lastFail = err.Error()
		return
	}
	w.lat = append(w.lat, lat)
}

func (w *window) stats() ProbeStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := ProbeStats{Calls: w.calls, Served: len(w.lat), LastFailure: w.lastFail}
	if len(w.lat) > 0 {
		l := slices.Clone(w.lat)
		slices.Sort(l)
		s.P50, s.P99 = Seconds(percentile(l, 0.50)), Seconds(percentile(l, 0.99))
	}
	return s
}

// percentile returns the p-quantile of sorted values (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// probe is the well-behaved client: one gRPC channel to the target making
// unary calls to one method, one at a time, one every interval at most.
type probe struct {
	cc       *channel.ClientConn
	path     string
	interval time.Duration
	timeout  time.Duration
	req      []byte // an empty message, behind its prefix space

	mu  sync.Mutex
	win *window

	cancel context.CancelFunc
	done   chan struct{}
}

func newProbe(cfg *Config) (*probe, error) {
	var creds credentials.TransportCredentials = insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	cc, err := channel.NewClient(cfg.Target, channel.WithTransportCredentials(creds), channel.WithUserAgent("h2rpc-torture-probe"))
	if err != nil {
		return nil, err
	}
	return &probe{
		cc:       cc,
		path:     cfg.Path,
		interval: cfg.ProbeInterval,
		timeout:  cfg.ProbeTimeout,
		req:      make([]byte, channel.MsgHeaderLen),
		done:     make(chan struct{}),
	}, nil
}

// errTimeout is the failure of a call that did not end within the timeout.
var errTimeout = errors.New("no answer within the probe's timeout")

// call makes one call. It fails when no response headers arrived, or when
// the call did not end within the timeout; any status is an answer.
func (p *probe) call(ctx context.Context) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	t0 := time.Now()
	cs, err := p.cc.NewStream(ctx, p.path, nil)
	if err != nil {
		return time.Since(t0), err
	}
	cs.SendMsg(p.req)
	cs.CloseSend()
	_, herr := cs.Header()
	var buf []byte
	for {
		if buf, err = cs.RecvMsg(buf); err != nil {
			break
		}
	}
	lat := time.Since(t0)
	if ctx.Err() != nil {
		return lat, errTimeout
	}
	if herr != nil {
		return lat, herr
	}
	return lat, nil
}

// warmUp connects and checks that the target answers the probe's calls.
func (p *probe) warmUp(ctx context.Context) error {
	var err error
	for range 3 {
		if _, err = p.call(ctx); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the probe's calls to %s are not answered: %w", p.path, err)
}

// start runs the probe's calls on a goroutine until stop.
func (p *probe) start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(ctx)
	go func() {
		defer close(p.done)
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			p.mu.Lock()
			w := p.win
			if w != nil {
				w.inflight.Add(1)
			}
			p.mu.Unlock()
			t0 := time.Now()
			lat, err := p.call(ctx)
			if w != nil {
				if ctx.Err() == nil {
					w.record(lat, err)
				}
				w.inflight.Done()
			}
			t.Reset(time.Until(t0.Add(p.interval)))
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// begin starts collecting calls into a new window.
func (p *probe) begin() *window {
	w := &window{}
	p.mu.Lock()
	p.win = w
	p.mu.Unlock()
	return w
}

// end stops collecting into w, waits for its call in flight and returns
// what it saw.
func (p *probe) end(w *window) ProbeStats {
	p.mu.Lock()
	if p.win == w {
		p.win = nil
	}
	p.mu.Unlock()
	w.inflight.Wait()
	return w.stats()
}

// stop ends the calls and closes the channel.
func (p *probe) stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
	p.cc.Close()
}
