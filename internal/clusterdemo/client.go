package clusterdemo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/keepalive"
	cresolver "github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/manual"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/gossip"
	"github.com/h2rpc/h2rpc/gossip/agent"
	gresolver "github.com/h2rpc/h2rpc/gossip/resolver"
	"github.com/h2rpc/h2rpc/stub"
)

// Target is what the client calls.
const Target = "gossip:///helloworld.Greeter"

// ClientOptions configure a Client.
type ClientOptions struct {
	// Gossip is the address the client's gossip member binds; it is the
	// seed the servers join.
	Gossip string
	// Preset is the gossip preset: lan, wan or local.
	Preset string
	// Policy is the balancing policy; round_robin when empty.
	Policy string
	// PolicyConfig is the policy's JSON config; {} when empty.
	PolicyConfig string
	// Deadline bounds each call; 1 s when zero.
	Deadline time.Duration
}

// Client calls helloworld.Greeter through gossip and records every call.
type Client struct {
	Node *gossip.Node
	Rec  *Recorder
	conn *stub.ClientConn
	g    pb.GreeterClient
	dl   time.Duration
}

func serviceConfig(policy, cfg string) string {
	if policy == "" {
		policy = "round_robin"
	}
	if cfg == "" {
		cfg = "{}"
	}
	return fmt.Sprintf(`{"loadBalancingConfig":[{%q:%s}]}`, trackedPrefix+policy, cfg)
}

// NewClient starts a gossip member that serves nothing and a channel to
// Target through it.
func NewClient(o ClientOptions, rec *Recorder) (*Client, error) {
	cfg, err := agent.Preset(o.Preset)
	if err != nil {
		return nil, err
	}
	tr, err := gossip.NewNetTransport(gossip.NetConfig{Bind: o.Gossip, StreamTimeout: cfg.StreamTimeout})
	if err != nil {
		return nil, fmt.Errorf("gossip on %s: %v", o.Gossip, err)
	}
	cfg.Name = "client"
	cfg.Transport = tr
	node, err := gossip.New(cfg)
	if err != nil {
		tr.Close()
		return nil, err
	}
	conn, err := stub.NewClient(Target, stub.WithTransportCredentials(insecure.NewCredentials()),
		stub.WithResolvers(gresolver.NewBuilder(node)),
		stub.WithDefaultServiceConfig(serviceConfig(o.Policy, o.PolicyConfig)))
	if err != nil {
		node.Shutdown()
		return nil, err
	}
	return &Client{Node: node, Rec: rec, conn: conn, g: pb.NewGreeterClient(conn), dl: cmp(o.Deadline, time.Second)}, nil
}

// NewStaticClient returns a client of a fixed list of addresses, what the
// dns resolver gives for a name with several records, with keepalive at
// its minimum (a ping after 10 s of silence, 1 s to answer): how a
// channel without gossip finds out that a server froze.
func NewStaticClient(addrs []string, deadline time.Duration, rec *Recorder) (*Client, error) {
	r := manual.NewBuilderWithScheme("static")
	var s cresolver.State
	for _, a := range addrs {
		s.Addresses = append(s.Addresses, cresolver.Address{Addr: a})
	}
	r.InitialState(s)
	conn, err := stub.NewClient("static:///helloworld", stub.WithTransportCredentials(insecure.NewCredentials()), stub.WithResolvers(r),
		stub.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: time.Second, PermitWithoutStream: true}),
		stub.WithDefaultServiceConfig(serviceConfig("round_robin", "")))
	if err != nil {
		return nil, err
	}
	return &Client{Rec: rec, conn: conn, g: pb.NewGreeterClient(conn), dl: cmp(deadline, time.Second)}, nil
}

func cmp(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Run calls with workers concurrent callers, each pausing pause between
// calls, until ctx is done.
func (c *Client) Run(ctx context.Context, workers int, pause time.Duration) {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c.call(ctx)
				if pause > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(pause):
					}
				}
			}
		}()
	}
	wg.Wait()
}

// RunRate starts rate calls a second, each on a goroutine of its own
// (an open loop: a call stuck on a frozen server holds no other back),
// with at most maxInFlight in progress, until ctx is done and the calls
// have ended.
func (c *Client) RunRate(ctx context.Context, rate, maxInFlight int) {
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	interval := time.Second / time.Duration(rate)
	next := time.Now()
	for ctx.Err() == nil {
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // too many in flight: this call is skipped
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c.call(ctx)
		}()
	}
}

func (c *Client) call(parent context.Context) {
	ctx, cancel := context.WithTimeout(context.Background(), c.dl)
	defer cancel()
	ctx, slot := withSlot(ctx)
	start := time.Now()
	_, err := c.g.SayHello(ctx, &pb.HelloRequest{Name: "demo"})
	if parent.Err() != nil && err != nil {
		return // the run ended, not the call
	}
	c.Rec.add(start, time.Now(), slot.get(), err)
}

// Close closes the channel and leaves the cluster.
func (c *Client) Close() {
	c.conn.Close()
	if c.Node != nil {
		c.Node.Leave()
		c.Node.Shutdown()
	}
}

// Call is one recorded call.
type Call struct {
	Start, End time.Time
	Addr       string // the address it was last picked for; "" if none
	Err        error
}

// Recorder keeps every call. Its methods are safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	calls []Call
}

func (r *Recorder) add(start, end time.Time, addr string, err error) {
	r.mu.Lock()
	r.calls = append(r.calls, Call{Start: start, End: end, Addr: addr, Err: err})
	r.mu.Unlock()
}

// Calls returns the calls that started in [from, to).
func (r *Recorder) Calls(from, to time.Time) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	for _, c := range r.calls {
		if !c.Start.Before(from) && c.Start.Before(to) {
			out = append(out, c)
		}
	}
	return out
}

// Ended returns the calls that ended in [from, to).
func (r *Recorder) Ended(from, to time.Time) []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Call
	for _, c := range r.calls {
		if !c.End.Before(from) && c.End.Before(to) {
			out = append(out, c)
		}
	}
	return out
}

// LastPick returns when the last call picked for addr at or after at
// started, and false if none did.
func (r *Recorder) LastPick(addr string, at time.Time) (time.Time, bool) {
	var last time.Time
	found := false
	for _, c := range r.Calls(at, time.Now().Add(time.Hour)) {
		if c.Addr == addr && c.Start.After(last) {
			last, found = c.Start, true
		}
	}
	return last, found
}

// FirstPick returns when the first call picked for addr at or after at
// started.
func (r *Recorder) FirstPick(addr string, at time.Time) (time.Time, bool) {
	var first time.Time
	found := false
	for _, c := range r.Calls(at, time.Now().Add(time.Hour)) {
		if c.Addr == addr && (!found || c.Start.Before(first)) {
			first, found = c.Start, true
		}
	}
	return first, found
}

// Latency returns the q-quantile of the latencies of successful calls
// that started in [from, to).
func (r *Recorder) Latency(from, to time.Time, q float64) time.Duration {
	var ds []time.Duration
	for _, c := range r.Calls(from, to) {
		if c.Err == nil {
			ds = append(ds, c.End.Sub(c.Start))
		}
	}
	return quantile(ds, q)
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

// errNoServer is what Await returns when the client never saw the
// servers.
var errNoServer = errors.New("the client did not reach every server in time")

// Await waits until calls have reached every one of addrs in one
// second, or d has passed.
func (r *Recorder) Await(addrs []string, d time.Duration) error {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		seen := map[string]bool{}
		for _, c := range r.Ended(time.Now().Add(-time.Second), time.Now()) {
			if c.Err == nil {
				seen[c.Addr] = true
			}
		}
		all := true
		for _, a := range addrs {
			all = all && seen[a]
		}
		if all {
			return nil
		}
	}
	return errNoServer
}
