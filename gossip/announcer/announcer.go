package announcer

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/gossip"
	"github.com/h2rpc/h2rpc/stub"
)

// Options configure an Announcer.
type Options struct {
	// RPCAddr is the address clients dial, host:port. Required.
	RPCAddr string
	// Services lists the services announced; nil announces every service
	// registered on the server when Start is called.
	Services []string
	// Load, when set, is counted by the server (see Load.ServerOptions)
	// and announced under gossip.MetaLoad.
	Load *Load
	// Health, when set, says whether the server is serving; it is asked at
	// every Interval (a health service's overall status, say). Nil means
	// serving, unless SetServing says otherwise.
	Health func() bool
	// Interval is the least time between two metadata updates, and how
	// often health and load are read; 1 s when zero. An update is made
	// only when something changed for real (see gossip.MetaLoad).
	Interval time.Duration
	// LoadInterval is the least time between two updates that change
	// only the load; 10 s when zero. Every update is passed on by every
	// member about 4·log10(n) times, so load sent often is what gossip
	// traffic grows with (see the package doc).
	LoadInterval time.Duration
	// LeaveWait is how long a graceful stop waits after announcing the
	// leave, so that it spreads, before the server drains; 1 s when zero,
	// none when negative.
	LeaveWait time.Duration
}

// Announcer keeps a gossip node's metadata describing a server. Its
// methods are safe for concurrent use.
type Announcer struct {
	node *gossip.Node
	opts Options
	base map[string]string // the node's own metadata, not ours

	mu       sync.Mutex
	left     bool
	serving  bool
	last     map[string]string // what was last announced
	lastLoad gossip.Load
	loadAt   time.Time // when the load was last announced
	updates  int
	samp     sampler

	stop chan struct{}
	done chan struct{}
}

// Start announces srv through node: it sets the node's metadata at once
// and keeps it current until Leave or Close, and it makes srv's
// GracefulStop call Leave first. The node stays the caller's to shut down.
func Start(node *gossip.Node, srv *stub.Server, o Options) (*Announcer, error) {
	if o.RPCAddr == "" {
		return nil, errors.New("announcer: Options.RPCAddr is required (the host:port clients dial)")
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Interval < 0 || o.LoadInterval < 0 {
		return nil, errors.New("announcer: Options.Interval and LoadInterval must not be negative")
	}
	if o.LoadInterval == 0 {
		o.LoadInterval = 10 * time.Second
	}
	if o.LeaveWait == 0 {
		o.LeaveWait = time.Second
	}
	if o.Services == nil && srv != nil {
		for name := range srv.GetServiceInfo() {
			o.Services = append(o.Services, name)
		}
	}
	o.Services = slices.Clone(o.Services)
	slices.Sort(o.Services)
	for _, s := range o.Services {
		if s == "" || strings.Contains(s, ",") {
			return nil, errors.New("announcer: a service name must be non-empty and without commas: " + s)
		}
	}
	a := &Announcer{node: node, opts: o, serving: true, stop: make(chan struct{}), done: make(chan struct{})}
	if self, ok := node.Member(node.Name()); ok {
		a.base = self.Meta
	}
	a.samp = sampler{l: o.Load}
	a.mu.Lock()
	err := a.publish(true)
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if srv != nil {
		srv.BeforeGracefulStop(func() { a.Leave() })
	}
	go a.run()
	return a, nil
}

// metaNow builds the metadata to announce and the load in it. Call with
// mu held.
func (a *Announcer) metaNow() (map[string]string, gossip.Load) {
	m := maps.Clone(a.base)
	if m == nil {
		m = map[string]string{}
	}
	m[gossip.MetaRPCAddr] = a.opts.RPCAddr
	m[gossip.MetaServices] = strings.Join(a.opts.Services, ",")
	serving := a.serving && (a.opts.Health == nil || a.opts.Health())
	m[gossip.MetaHealth] = gossip.HealthNotServing
	if serving {
		m[gossip.MetaHealth] = gossip.HealthServing
	}
	var f gossip.Load
	if a.opts.Load != nil {
		f = a.samp.sample(time.Now())
		m[gossip.MetaLoad] = f.String()
	}
	return m, f
}

// publish updates the node's metadata if it changed for real, or always
// when force is set. Call with mu held.
func (a *Announcer) publish(force bool) error {
	if a.left {
		return nil
	}
	m, f := a.metaNow()
	if !force {
		same := true
		for k, v := range m {
			if k != gossip.MetaLoad && a.last[k] != v {
				same = false
			}
		}
		same = same && len(m) == len(a.last)
		if same && (!differs(f, a.lastLoad) || time.Since(a.loadAt) < a.opts.LoadInterval) {
			return nil
		}
	}
	if err := a.node.UpdateMeta(m); err != nil {
		return err
	}
	a.last, a.lastLoad, a.loadAt = m, f, time.Now()
	a.updates++
	return nil
}

func (a *Announcer) run() {
	defer close(a.done)
	t := time.NewTicker(a.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.mu.Lock()
			a.publish(false)
			a.mu.Unlock()
		}
	}
}

// SetServing marks the server serving or not; the change is announced at
// the next Interval.
func (a *Announcer) SetServing(serving bool) {
	a.mu.Lock()
	a.serving = serving
	a.mu.Unlock()
}

// Updates returns how many times the announcer has set the node's
// metadata.
func (a *Announcer) Updates() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.updates
}

// Leave stops announcing, tells the cluster that this member is leaving
// and waits Options.LeaveWait for the news to spread. Only the first call
// leaves and waits; later ones return at once.
func (a *Announcer) Leave() error {
	a.mu.Lock()
	if a.left {
		a.mu.Unlock()
		return nil
	}
	a.left = true
	a.mu.Unlock()
	a.Close()
	err := a.node.Leave()
	if err == nil && a.opts.LeaveWait > 0 {
		time.Sleep(a.opts.LeaveWait)
	}
	return err
}

// Close stops keeping the metadata current, without leaving.
func (a *Announcer) Close() {
	a.mu.Lock()
	select {
	case <-a.stop:
	default:
		close(a.stop)
	}
	a.mu.Unlock()
	<-a.done
}
