package clusterdemo

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/h2rpc/h2rpc/channel/balancer"
	_ "github.com/h2rpc/h2rpc/channel/balancer/leastrequest" // the policies tracked
	_ "github.com/h2rpc/h2rpc/channel/balancer/loadaware"
	_ "github.com/h2rpc/h2rpc/channel/balancer/roundrobin"
	"github.com/h2rpc/h2rpc/channel/resolver"
)

// The tracked policies are the channel's own under a prefix: they balance
// exactly as the policy does and also write the address each call was
// picked for into the slot its context carries, which the channel's API
// does not tell a caller of a failed call.
const trackedPrefix = "tracked_"

func init() {
	for _, name := range []string{"round_robin", "least_request_experimental", "load_aware"} {
		inner := balancer.Get(name)
		if p, ok := inner.(balancer.ConfigParser); ok {
			balancer.Register(trackedParser{trackedBuilder{inner}, p})
			continue
		}
		balancer.Register(trackedBuilder{inner})
	}
}

// pickSlot receives the address of the last pick of one call.
type pickSlot struct{ addr atomic.Pointer[string] }

type slotKey struct{}

// withSlot returns ctx carrying a new slot.
func withSlot(ctx context.Context) (context.Context, *pickSlot) {
	s := &pickSlot{}
	return context.WithValue(ctx, slotKey{}, s), s
}

func (s *pickSlot) get() string {
	if p := s.addr.Load(); p != nil {
		return *p
	}
	return ""
}

type trackedBuilder struct{ inner balancer.Builder }

func (b trackedBuilder) Name() string { return trackedPrefix + b.inner.Name() }

func (b trackedBuilder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	return b.inner.Build(&trackedCC{ClientConn: cc}, opts)
}

// trackedParser is a tracked policy that takes a config: its own.
type trackedParser struct {
	trackedBuilder
	balancer.ConfigParser
}

// trackedCC names each subchannel's address and wraps every picker.
type trackedCC struct {
	balancer.ClientConn
	addrs sync.Map // balancer.SubConn → *string
}

func (c *trackedCC) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	sc, err := c.ClientConn.NewSubConn(addrs, opts)
	if err == nil && len(addrs) > 0 {
		a := addrs[0].Addr
		c.addrs.Store(sc, &a)
	}
	return sc, err
}

func (c *trackedCC) UpdateState(s balancer.State) {
	s.Picker = &trackedPicker{inner: s.Picker, cc: c}
	c.ClientConn.UpdateState(s)
}

type trackedPicker struct {
	inner balancer.Picker
	cc    *trackedCC
}

func (p *trackedPicker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	r, err := p.inner.Pick(info)
	if err == nil && info.Ctx != nil {
		if s, ok := info.Ctx.Value(slotKey{}).(*pickSlot); ok {
			if a, ok := p.cc.addrs.Load(r.SubConn); ok {
				s.addr.Store(a.(*string))
			}
		}
	}
	return r, err
}
