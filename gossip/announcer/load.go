package announcer

import (
	"context"
	"math"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/gossip"
	"github.com/h2rpc/h2rpc/stub"
)

// Load counts a server's calls in flight and finished, through the
// interceptors ServerOptions installs, and measures its utilisation. Its
// methods are safe for concurrent use.
type Load struct {
	inFlight atomic.Int64
	finished atomic.Uint64
	// util, when set, replaces the process's CPU share as utilisation.
	util atomic.Pointer[func() float64]
}

// NewLoad returns a Load with nothing counted.
func NewLoad() *Load { return &Load{} }

// ServerOptions returns the options that make a server count its calls
// on l; pass them to stub.NewServer.
func (l *Load) ServerOptions() []stub.ServerOption {
	return []stub.ServerOption{
		stub.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *stub.UnaryServerInfo, h stub.UnaryHandler) (any, error) {
			l.inFlight.Add(1)
			defer l.end()
			return h(ctx, req)
		}),
		stub.ChainStreamInterceptor(func(srv any, ss stub.ServerStream, _ *stub.StreamServerInfo, h stub.StreamHandler) error {
			l.inFlight.Add(1)
			defer l.end()
			return h(srv, ss)
		}),
	}
}

func (l *Load) end() {
	l.inFlight.Add(-1)
	l.finished.Add(1)
}

// SetUtilization makes f the source of the utilisation figure, a number
// from 0 (idle) to 1 (saturated), instead of the process's CPU share.
func (l *Load) SetUtilization(f func() float64) { l.util.Store(&f) }

// InFlight returns the calls in progress.
func (l *Load) InFlight() int64 { return l.inFlight.Load() }

// sampler turns a Load's counters into figures over the time between two
// samples. It is used by one goroutine.
type sampler struct {
	l        *Load
	at       time.Time
	finished uint64
	cpu      time.Duration
}

func (s *sampler) sample(now time.Time) gossip.Load {
	f := gossip.Load{InFlight: s.l.inFlight.Load()}
	fin := s.l.finished.Load()
	cpu := processCPU()
	if el := now.Sub(s.at); !s.at.IsZero() && el > 0 {
		f.QPS = float64(fin-s.finished) / el.Seconds()
		f.Utilization = float64(cpu-s.cpu) / float64(el) / float64(cpus())
	}
	if u := s.l.util.Load(); u != nil {
		f.Utilization = (*u)()
	}
	f.Utilization = math.Min(math.Max(f.Utilization, 0), 1)
	s.at, s.finished, s.cpu = now, fin, cpu
	return f
}

// differs reports whether f is a real change from g, worth telling the
// cluster: a tenth more or less of the rate, five points of utilisation,
// or a quarter (and at least two) more or fewer calls in flight.
func differs(f, g gossip.Load) bool {
	rel := func(a, b, floor float64) bool { return math.Abs(a-b) >= math.Max(floor, 0.1*math.Max(a, b)) }
	return rel(f.QPS, g.QPS, 1) ||
		math.Abs(f.Utilization-g.Utilization) >= 0.05 ||
		math.Abs(float64(f.InFlight-g.InFlight)) >= math.Max(2, 0.25*float64(max(f.InFlight, g.InFlight)))
}
