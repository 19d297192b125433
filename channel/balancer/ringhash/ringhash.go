package ringhash

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/balancer/internal/base"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// Name is the policy's name in service configs, as grpc-go registers it.
const Name = "ring_hash_experimental"

// Ring sizes: gRFC A42's defaults and bound.
const (
	defaultMinRingSize = 1024
	defaultMaxRingSize = 4096
	maxRingSizeCap     = 8 * 1024 * 1024
)

func init() {
	balancer.Register(builder{})
}

// LBConfig is the policy's config: {"minRingSize": 1024, "maxRingSize":
// 4096, "requestHashHeader": "x-user"}.
type LBConfig struct {
	serviceconfig.LoadBalancingConfig `json:"-"`

	// MinRingSize and MaxRingSize bound the number of ring entries: each
	// server gets MinRingSize/4 of them, fewer when that would pass
	// MaxRingSize (then keys move beyond the leaving server's when the
	// number of servers changes).
	MinRingSize uint64 `json:"minRingSize"`
	MaxRingSize uint64 `json:"maxRingSize"`
	// RequestHashHeader names the request header whose value is hashed
	// to place a call on the ring (gRFC A76); a call without it, or with
	// no header configured, gets a random hash. A "-bin" header or a
	// pseudo-header is refused.
	RequestHashHeader string `json:"requestHashHeader"`
}

type builder struct{}

// Name returns "ring_hash_experimental".
func (builder) Name() string { return Name }

// ParseConfig parses and checks the config.
func (builder) ParseConfig(js json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	cfg := &LBConfig{MinRingSize: defaultMinRingSize, MaxRingSize: defaultMaxRingSize}
	if err := json.Unmarshal(js, cfg); err != nil {
		return nil, fmt.Errorf("%s: bad config %s: %v", Name, js, err)
	}
	if cfg.MinRingSize == 0 || cfg.MinRingSize > cfg.MaxRingSize || cfg.MaxRingSize > maxRingSizeCap {
		return nil, fmt.Errorf("%s: need 0 < minRingSize <= maxRingSize <= %d, got %d and %d", Name, maxRingSizeCap, cfg.MinRingSize, cfg.MaxRingSize)
	}
	h := strings.ToLower(cfg.RequestHashHeader)
	if strings.HasPrefix(h, ":") || strings.HasSuffix(h, "-bin") {
		return nil, fmt.Errorf("%s: requestHashHeader %q must be an ordinary header, not a pseudo-header or a binary one", Name, cfg.RequestHashHeader)
	}
	cfg.RequestHashHeader = h
	return cfg, nil
}

// Build returns a ring_hash_experimental balancer for cc.
func (builder) Build(cc balancer.ClientConn, _ balancer.BuildOptions) balancer.Balancer {
	b := &rhBalancer{cfg: LBConfig{MinRingSize: defaultMinRingSize, MaxRingSize: defaultMaxRingSize}}
	b.Balancer = base.NewAddrBalancer(cc, Name, b.newPicker)
	return b
}

// rhBalancer is the shared core, which keeps every server connected, with
// a picker over a ring of the READY ones.
type rhBalancer struct {
	*base.Balancer
	cfg LBConfig
}

// UpdateClientConnState takes the config (nil means the defaults) and
// hands the addresses to the core.
func (b *rhBalancer) UpdateClientConnState(s balancer.ClientConnState) error {
	cfg, err := base.OwnConfig(Name, s.BalancerConfig, b.cfg)
	if err != nil {
		return err
	}
	b.cfg = cfg
	return b.Balancer.UpdateClientConnState(s)
}

type hashKeyKey struct{}

// SetHashKey returns a with key as the name that places it on the ring
// (gRFC A76's endpoint hash key) instead of its address, so that a
// server that comes back at another address keeps its keys.
func SetHashKey(a resolver.Address, key string) resolver.Address {
	a.BalancerAttributes = a.BalancerAttributes.WithValue(hashKeyKey{}, key)
	return a
}

func hashKey(a resolver.Address) string {
	if k, ok := a.BalancerAttributes.Value(hashKeyKey{}).(string); ok && k != "" {
		return k
	}
	return a.Addr
}

// entry is one point of the ring.
type entry struct {
	hash uint64
	i    int // index into picker.results
}

// picker owns a ring fixed when it was made.
type picker struct {
	ring    []entry
	results []balancer.PickResult
	header  string
}

func (b *rhBalancer) newPicker(ready []base.Ready) balancer.Picker {
	p := &picker{results: make([]balancer.PickResult, len(ready)), header: b.cfg.RequestHashHeader}
	// Every server weighs the same and gets the same number of entries,
	// whatever the number of servers, so that when one leaves or joins
	// only its own keys move: a quarter of MinRingSize (the ring reaches
	// MinRingSize from four servers on), fewer only when the ring would
	// pass MaxRingSize. gRFC A42 instead rescales every server's share to
	// the ring size, which moves some keys between servers that stayed.
	per := int(max(1, (b.cfg.MinRingSize+3)/4))
	if total := uint64(per) * uint64(len(ready)); total > b.cfg.MaxRingSize {
		per = int(max(1, b.cfg.MaxRingSize/uint64(len(ready))))
	}
	p.ring = make([]entry, 0, per*len(ready))
	for i, r := range ready {
		p.results[i] = balancer.PickResult{SubConn: r.SubConn}
		key := hashKey(r.Addr)
		for j := 0; j < per; j++ {
			p.ring = append(p.ring, entry{hash: Hash(key + "_" + strconv.Itoa(j)), i: i})
		}
	}
	slices.SortFunc(p.ring, func(a, b entry) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return a.i - b.i
	})
	return p
}

// Pick returns the owner of the call's hash: the first ring entry at or
// after it, wrapping round.
func (p *picker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	h := requestHash(info.Ctx, p.header)
	k, _ := slices.BinarySearchFunc(p.ring, h, func(e entry, h uint64) int {
		switch {
		case e.hash < h:
			return -1
		case e.hash > h:
			return 1
		}
		return 0
	})
	if k == len(p.ring) {
		k = 0
	}
	return p.results[p.ring[k].i], nil
}

// requestHash hashes the values of the header, joined with commas as
// gRFC A76 says, or is random when there is none.
func requestHash(ctx context.Context, header string) uint64 {
	if header != "" && ctx != nil {
		if md, ok := metadata.FromOutgoingContext(ctx); ok {
			if vs := md.Get(header); len(vs) > 0 {
				return Hash(strings.Join(vs, ","))
			}
		}
	}
	return rand.Uint64()
}

// Hash is the ring's hash of a string: 64-bit FNV-1a with a final mix
// (splitmix64's), so that keys that differ in their last bytes land far
// apart.
func Hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
