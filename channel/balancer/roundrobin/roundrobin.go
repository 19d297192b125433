package roundrobin

import (
	"math/rand/v2"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/balancer/internal/base"
)

// Name is the name of the round_robin policy in service configs.
const Name = "round_robin"

func init() {
	balancer.Register(builder{})
}

type builder struct{}

// Build returns a round_robin balancer for cc.
func (builder) Build(cc balancer.ClientConn, _ balancer.BuildOptions) balancer.Balancer {
	return base.NewBalancer(cc, Name, newPicker)
}

// Name returns "round_robin".
func (builder) Name() string { return Name }

// picker hands out its READY subchannels in turn, starting at a random
// one so that channels made at the same time do not all start on the same
// server. Its counter is the only state its picks share.
type picker struct {
	results []balancer.PickResult
	next    atomic.Uint64
}

func newPicker(ready []balancer.SubConn) balancer.Picker {
	p := &picker{results: make([]balancer.PickResult, len(ready))}
	for i, sc := range ready {
		p.results[i] = balancer.PickResult{SubConn: sc}
	}
	// A start below len keeps the counter far from wrapping, where the
	// turn would skip.
	p.next.Store(rand.Uint64N(uint64(len(ready))))
	return p
}

// Pick returns the next READY subchannel.
func (p *picker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	i := p.next.Add(1) - 1
	return p.results[i%uint64(len(p.results))], nil
}
