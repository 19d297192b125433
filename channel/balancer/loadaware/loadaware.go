package loadaware

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/balancer/internal/base"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// Name is the policy's name in service configs.
const Name = "load_aware"

// Defaults of LBConfig, those of gRFC A58.
const (
	defaultBlackout   = 10 * time.Second
	defaultExpiration = 3 * time.Minute
	defaultUpdate     = time.Second
	minUpdate         = 100 * time.Millisecond
	// minUtilization is the least utilisation a weight divides by: a
	// server that reports less (gossip carries it to two decimals) is
	// counted at 1%, so that an idle server has a weight rather than none.
	minUtilization = 0.01
)

func init() {
	balancer.Register(builder{})
}

// Report is one server's load as its resolver last heard it.
type Report struct {
	// QPS is the calls the server finished per second.
	QPS float64
	// Utilization is from 0 (idle) to 1 (saturated).
	Utilization float64
	// At is when the report was received.
	At time.Time
}

type reportKey struct{}

// SetLoad returns a with r in its BalancerAttributes (which do not make
// two addresses differ, so a new report keeps the connection).
func SetLoad(a resolver.Address, r Report) resolver.Address {
	a.BalancerAttributes = a.BalancerAttributes.WithValue(reportKey{}, r)
	return a
}

// LoadOf returns the report SetLoad put in a, if any.
func LoadOf(a resolver.Address) (Report, bool) {
	r, ok := a.BalancerAttributes.Value(reportKey{}).(Report)
	return r, ok
}

// LBConfig is the policy's config, with gRFC A58's names and defaults:
// {"blackoutPeriod": "10s", "weightExpirationPeriod": "180s",
// "weightUpdatePeriod": "1s"}.
type LBConfig struct {
	serviceconfig.LoadBalancingConfig `json:"-"`

	// BlackoutPeriod is how long a server must have reported load before
	// its weight is used, so that one report taken before it warmed up
	// does not swing traffic.
	BlackoutPeriod time.Duration
	// WeightExpirationPeriod is how long a report stays good; a server
	// that reported nothing newer is weighed as the mean of the others,
	// and must sit out a blackout again once it reports.
	WeightExpirationPeriod time.Duration
	// WeightUpdatePeriod is how often weights are recomputed (at least
	// 100 ms).
	WeightUpdatePeriod time.Duration
}

type builder struct{}

// Name returns "load_aware".
func (builder) Name() string { return Name }

// ParseConfig parses the JSON config; durations are strings such as "10s".
func (builder) ParseConfig(js json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	var raw struct {
		Blackout   *string `json:"blackoutPeriod"`
		Expiration *string `json:"weightExpirationPeriod"`
		Update     *string `json:"weightUpdatePeriod"`
	}
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, fmt.Errorf("%s: bad config %s: %v", Name, js, err)
	}
	cfg := &LBConfig{BlackoutPeriod: defaultBlackout, WeightExpirationPeriod: defaultExpiration, WeightUpdatePeriod: defaultUpdate}
	for _, f := range []struct {
		s   *string
		d   *time.Duration
		key string
	}{{raw.Blackout, &cfg.BlackoutPeriod, "blackoutPeriod"}, {raw.Expiration, &cfg.WeightExpirationPeriod, "weightExpirationPeriod"}, {raw.Update, &cfg.WeightUpdatePeriod, "weightUpdatePeriod"}} {
		if f.s == nil {
			continue
		}
		d, err := time.ParseDuration(*f.s)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%s: %s is %q, want a duration such as \"10s\"", Name, f.key, *f.s)
		}
		*f.d = d
	}
	cfg.WeightUpdatePeriod = max(cfg.WeightUpdatePeriod, minUpdate)
	if cfg.WeightExpirationPeriod == 0 {
		return nil, fmt.Errorf("%s: weightExpirationPeriod must be positive", Name)
	}
	return cfg, nil
}

// Build returns a load_aware balancer for cc.
func (builder) Build(cc balancer.ClientConn, _ balancer.BuildOptions) balancer.Balancer {
	b := &lbBalancer{
		cfg:   LBConfig{BlackoutPeriod: defaultBlackout, WeightExpirationPeriod: defaultExpiration, WeightUpdatePeriod: defaultUpdate},
		since: map[string]*endpointWeight{},
		now:   time.Now,
	}
	b.Balancer = base.NewAddrBalancer(cc, Name, b.newPicker)
	return b
}

// lbBalancer is the shared core with a picker that weighs by load. Like
// the core, it is driven by one goroutine at a time.
type lbBalancer struct {
	*base.Balancer
	cfg LBConfig
	// since keeps, by address, when each server's reports began, from one
	// picker to the next.
	since map[string]*endpointWeight
	now   func() time.Time
}

// UpdateClientConnState takes the config (nil means the defaults) and
// hands the addresses to the core.
func (b *lbBalancer) UpdateClientConnState(s balancer.ClientConnState) error {
	cfg, err := base.OwnConfig(Name, s.BalancerConfig, b.cfg)
	if err != nil {
		return err
	}
	b.cfg = cfg
	return b.Balancer.UpdateClientConnState(s)
}

// endpointWeight is what the balancer knows of one server's reports.
type endpointWeight struct {
	report Report
	// nonEmptySince is when the server's unbroken run of usable reports
	// began (gRFC A58's non_empty_since); zero while it has none.
	nonEmptySince time.Time
}

func (b *lbBalancer) newPicker(ready []base.Ready) balancer.Picker {
	now := b.now()
	since := make(map[string]*endpointWeight, len(ready))
	p := &picker{cfg: b.cfg, now: b.now, eps: make([]*endpointWeight, len(ready)), results: make([]balancer.PickResult, len(ready))}
	for i, r := range ready {
		w := b.since[r.Addr.Addr]
		if w == nil {
			w = &endpointWeight{}
		}
		if rep, ok := LoadOf(r.Addr); ok {
			usable := rep.QPS > 0
			switch {
			case !usable:
				w.nonEmptySince = time.Time{}
			case w.nonEmptySince.IsZero() || now.Sub(w.report.At) > b.cfg.WeightExpirationPeriod:
				w.nonEmptySince = rep.At
			}
			w.report = rep
		}
		since[r.Addr.Addr] = w
		p.eps[i] = &endpointWeight{report: w.report, nonEmptySince: w.nonEmptySince}
		p.results[i] = balancer.PickResult{SubConn: r.SubConn}
	}
	b.since = since
	p.table.Store(p.weigh(now))
	return p
}

// picker picks at random in proportion to the weights, which it
// recomputes every WeightUpdatePeriod on the pick that finds them stale.
type picker struct {
	cfg     LBConfig
	now     func() time.Time
	eps     []*endpointWeight
	results []balancer.PickResult
	table   atomic.Pointer[table]
	mu      sync.Mutex // one recomputation at a time
}

// table is the cumulative weights, fixed until expires.
type table struct {
	cum     []float64
	expires time.Time
}

// weight returns the weight gRFC A58 gives a report at now: calls per
// second over utilisation (at least minUtilization), or 0 (no weight)
// when the report is unusable (no calls), still in its blackout period or
// expired.
func (w *endpointWeight) weight(now time.Time, cfg LBConfig) float64 {
	r := w.report
	if w.nonEmptySince.IsZero() || r.QPS <= 0 {
		return 0
	}
	if now.Sub(r.At) > cfg.WeightExpirationPeriod || now.Sub(w.nonEmptySince) < cfg.BlackoutPeriod {
		return 0
	}
	return r.QPS / max(r.Utilization, minUtilization)
}

// weigh computes the table at now; servers without a weight get the mean
// of those with one (all equal when none has).
func (p *picker) weigh(now time.Time) *table {
	ws := make([]float64, len(p.eps))
	sum, n := 0.0, 0
	for i, e := range p.eps {
		ws[i] = e.weight(now, p.cfg)
		if ws[i] > 0 {
			sum += ws[i]
			n++
		}
	}
	mean := 1.0
	if n > 0 {
		mean = sum / float64(n)
	}
	t := &table{cum: make([]float64, len(ws)), expires: now.Add(p.cfg.WeightUpdatePeriod)}
	acc := 0.0
	for i, w := range ws {
		if w == 0 {
			w = mean
		}
		acc += w
		t.cum[i] = acc
	}
	return t
}

// Pick returns a READY subchannel chosen with probability proportional to
// its weight.
func (p *picker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	t := p.table.Load()
	if now := p.now(); now.After(t.expires) && p.mu.TryLock() {
		t = p.weigh(now)
		p.table.Store(t)
		p.mu.Unlock()
	}
	x := rand.Float64() * t.cum[len(t.cum)-1]
	i, _ := slices.BinarySearch(t.cum, x)
	return p.results[min(i, len(p.results)-1)], nil
}

// weightsOf returns the weights the picker of a load_aware balancer would
// use at now, for tests and tools: one per READY address, in order.
func weightsOf(p balancer.Picker, now time.Time) []float64 {
	lp := p.(*picker)
	t := lp.weigh(now)
	out := make([]float64, len(t.cum))
	prev := 0.0
	for i, c := range t.cum {
		out[i], prev = c-prev, c
	}
	return out
}
