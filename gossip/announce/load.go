package announce

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/stub"
)

// MetaHealth and MetaLoad are the metadata keys the announcer adds beside
// gossip.MetaRPCAddr and gossip.MetaServices.
const (
	// MetaHealth is "serving" or "not_serving".
	MetaHealth = "health"
	// MetaLoad is the server's load: calls in flight, calls finished per
	// second and utilisation, comma-separated ("12,850,0.31").
	MetaLoad = "load"
)

// Health values under MetaHealth.
const (
	Serving    = "serving"
	NotServing = "not_serving"
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

func (s *sampler) sample(now time.Time) Figures {
	f := Figures{InFlight: s.l.inFlight.Load()}
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

// Figures are one reading of a server's load.
type Figures struct {
	// InFlight is the calls in progress.
	InFlight int64
	// QPS is the calls finished per second since the last reading.
	QPS float64
	// Utilization is from 0 (idle) to 1 (saturated).
	Utilization float64
}

// String encodes f as MetaLoad's value.
func (f Figures) String() string {
	return strconv.FormatInt(f.InFlight, 10) + "," +
		strconv.FormatFloat(f.QPS, 'f', 0, 64) + "," +
		strconv.FormatFloat(f.Utilization, 'f', 2, 64)
}

// ParseFigures decodes a MetaLoad value.
func ParseFigures(s string) (Figures, bool) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Figures{}, false
	}
	in, err1 := strconv.ParseInt(parts[0], 10, 64)
	qps, err2 := strconv.ParseFloat(parts[1], 64)
	util, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || in < 0 || qps < 0 || util < 0 || util > 1 ||
		math.IsNaN(qps) || math.IsInf(qps, 0) || math.IsNaN(util) {
		return Figures{}, false
	}
	return Figures{InFlight: in, QPS: qps, Utilization: util}, true
}

// differs reports whether f is a real change from g, worth telling the
// cluster: a tenth more or less of the rate, five points of utilisation,
// or a quarter (and at least two) more or fewer calls in flight.
func (f Figures) differs(g Figures) bool {
	rel := func(a, b, floor float64) bool { return math.Abs(a-b) >= math.Max(floor, 0.1*math.Max(a, b)) }
	return rel(f.QPS, g.QPS, 1) ||
		math.Abs(f.Utilization-g.Utilization) >= 0.05 ||
		math.Abs(float64(f.InFlight-g.InFlight)) >= math.Max(2, 0.25*float64(max(f.InFlight, g.InFlight)))
}
