package leastrequest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/balancer/internal/base"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// Name is the name of the policy in service configs, as grpc-go registers
// it.
const Name = "least_request_experimental"

// Bounds of LBConfig.ChoiceCount (gRFC A48).
const (
	defaultChoiceCount = 2
	minChoiceCount     = 2
	maxChoiceCount     = 10
)

func init() {
	balancer.Register(builder{})
}

// LBConfig is the policy's config, the JSON object
// {"choiceCount": N} under its name in a service config's
// loadBalancingConfig.
type LBConfig struct {
	serviceconfig.LoadBalancingConfig `json:"-"`

	// ChoiceCount is how many READY subchannels each pick draws, at
	// random, to choose the one with the fewest calls in flight. It is 2
	// when the config leaves it out; a config below 2 is rejected, and one
	// above 10 is taken as 10 (gRFC A48).
	ChoiceCount uint32 `json:"choiceCount"`
}

type builder struct{}

// Name returns "least_request_experimental".
func (builder) Name() string { return Name }

// ParseConfig parses {"choiceCount": N}.
func (builder) ParseConfig(js json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	cfg := &LBConfig{ChoiceCount: defaultChoiceCount}
	if err := json.Unmarshal(js, cfg); err != nil {
		return nil, fmt.Errorf("%s: bad config %s: %v", Name, js, err)
	}
	if cfg.ChoiceCount < minChoiceCount {
		return nil, fmt.Errorf("%s: choiceCount is %d, must be at least %d", Name, cfg.ChoiceCount, minChoiceCount)
	}
	cfg.ChoiceCount = min(cfg.ChoiceCount, maxChoiceCount)
	return cfg, nil
}

// Build returns a least_request_experimental balancer for cc.
func (builder) Build(cc balancer.ClientConn, _ balancer.BuildOptions) balancer.Balancer {
	b := &lrBalancer{choiceCount: defaultChoiceCount, counts: map[balancer.SubConn]*counted{}}
	b.Balancer = base.NewBalancer(cc, Name, b.newPicker)
	return b
}

// errBadConfig is returned for a config that is not an *LBConfig.
var errBadConfig = errors.New(Name + ": the balancer config is not its own")

// lrBalancer is the shared core with a picker that counts calls. Like the
// core, it is driven by one goroutine at a time.
type lrBalancer struct {
	*base.Balancer
	choiceCount uint32
	// counts holds the in-flight count of each READY subchannel, kept
	// from one picker to the next.
	counts map[balancer.SubConn]*counted
}

// UpdateClientConnState takes the config (nil means the defaults) and
// hands the addresses to the core.
func (b *lrBalancer) UpdateClientConnState(s balancer.ClientConnState) error {
	switch cfg := s.BalancerConfig.(type) {
	case nil:
		b.choiceCount = defaultChoiceCount
	case *LBConfig:
		b.choiceCount = min(max(cfg.ChoiceCount, minChoiceCount), maxChoiceCount)
	default:
		return fmt.Errorf("%w (%T): %w", errBadConfig, s.BalancerConfig, balancer.ErrBadResolverState)
	}
	return b.Balancer.UpdateClientConnState(s)
}

// counted is one READY subchannel and its calls in flight.
type counted struct {
	inFlight atomic.Int64
	// result is what a pick of it returns; its Done, bound once, ends the
	// call's count, so that a pick does not allocate.
	result balancer.PickResult
}

func (c *counted) done(balancer.DoneInfo) { c.inFlight.Add(-1) }

func (b *lrBalancer) newPicker(ready []balancer.SubConn) balancer.Picker {
	p := &picker{choiceCount: int(b.choiceCount), subs: make([]*counted, len(ready))}
	counts := make(map[balancer.SubConn]*counted, len(ready))
	for i, sc := range ready {
		c := b.counts[sc]
		if c == nil {
			c = &counted{}
			c.result = balancer.PickResult{SubConn: sc, Done: c.done}
		}
		counts[sc] = c
		p.subs[i] = c
	}
	// Counters of subchannels no longer READY are dropped; calls still on
	// them end on the dropped counter.
	b.counts = counts
	return p
}

// picker draws choiceCount of its subchannels at random (with
// replacement, as grpc-go does) and picks the one with the fewest calls in
// flight.
type picker struct {
	choiceCount int
	subs        []*counted
}

// Pick returns the least loaded of choiceCount random READY subchannels
// and counts the call on it until its Done.
func (p *picker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	n := len(p.subs)
	best := p.subs[rand.IntN(n)]
	least := best.inFlight.Load()
	for i := 1; i < p.choiceCount; i++ {
		c := p.subs[rand.IntN(n)]
		if v := c.inFlight.Load(); v < least {
			best, least = c, v
		}
	}
	best.inFlight.Add(1)
	return best.result, nil
}
