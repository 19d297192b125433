package channel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stream"
)

// Version is the h2rpc version sent in user-agent.
const Version = "0.1.0"

const defaultUserAgent = "h2rpc-go/" + Version

// DialOption configures a ClientConn.
type DialOption func(*dialOptions)

type dialOptions struct {
	creds       credentials.TransportCredentials
	authority   string
	dialer      func(ctx context.Context, addr string) (net.Conn, error)
	userAgent   string
	connCfg     stream.Config
	maxRecv     int
	maxSend     int
	compressor  string
	resolvers   []resolver.Builder
	defaultSC   string
	disableSC   bool
	backoff     BackoffConfig
	minConnect  time.Duration
	idleTimeout time.Duration
	idleSet     bool
}

// WithTransportCredentials sets how connections are secured: TLS
// (credentials.NewTLS) or none (insecure.NewCredentials, for h2c with
// prior knowledge). A ClientConn needs one, as in grpc-go.
func WithTransportCredentials(c credentials.TransportCredentials) DialOption {
	return func(o *dialOptions) { o.creds = c }
}

// WithAuthority sets the :authority of every call (and the TLS server name
// unless the credentials set one); by default it is the target's address.
func WithAuthority(a string) DialOption { return func(o *dialOptions) { o.authority = a } }

// WithContextDialer replaces the dialer; addr is the address to connect
// to, as the resolver gave it.
func WithContextDialer(f func(ctx context.Context, addr string) (net.Conn, error)) DialOption {
	return func(o *dialOptions) { o.dialer = f }
}

// WithUserAgent puts ua before h2rpc's own user-agent.
func WithUserAgent(ua string) DialOption { return func(o *dialOptions) { o.userAgent = ua } }

// WithConnConfig sets the HTTP/2 parameters of the connections.
func WithConnConfig(cfg stream.Config) DialOption { return func(o *dialOptions) { o.connCfg = cfg } }

// WithMaxRecvMsgSize sets the largest message a call receives (default
// 4 MiB); larger ones fail the call with RESOURCE_EXHAUSTED.
func WithMaxRecvMsgSize(n int) DialOption { return func(o *dialOptions) { o.maxRecv = n } }

// WithMaxSendMsgSize sets the largest message a call sends (default
// unlimited); larger ones fail with RESOURCE_EXHAUSTED.
func WithMaxSendMsgSize(n int) DialOption { return func(o *dialOptions) { o.maxSend = n } }

// WithCompressor sets the compressor of every call's messages ("gzip",
// or any registered with codec.RegisterCompressor); none by default.
func WithCompressor(name string) DialOption { return func(o *dialOptions) { o.compressor = name } }

// WithResolvers makes these resolver builders serve their schemes for this
// channel only, ahead of the ones registered with resolver.Register.
func WithResolvers(rs ...resolver.Builder) DialOption {
	return func(o *dialOptions) { o.resolvers = append(o.resolvers, rs...) }
}

// WithDefaultServiceConfig sets the service config (JSON) used while the
// resolver gives none, or when WithDisableServiceConfig is set. Of it,
// loadBalancingConfig and loadBalancingPolicy are used today. NewClient
// fails on one that does not parse.
func WithDefaultServiceConfig(js string) DialOption {
	return func(o *dialOptions) { o.defaultSC = js }
}

// WithDisableServiceConfig ignores service configs from resolvers.
func WithDisableServiceConfig() DialOption { return func(o *dialOptions) { o.disableSC = true } }

// BackoffConfig is gRPC's connection backoff (its connection-backoff
// document): the delay before the n-th reconnection is
// min(BaseDelay × Multiplier^(n−1), MaxDelay), randomized by ±Jitter.
type BackoffConfig struct {
	BaseDelay  time.Duration
	Multiplier float64
	Jitter     float64
	MaxDelay   time.Duration
}

// DefaultBackoffConfig is gRPC's: 1 s, ×1.6, ±20 %, at most 120 s.
var DefaultBackoffConfig = BackoffConfig{BaseDelay: time.Second, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 120 * time.Second}

// ConnectParams are the connection backoff and the least time a connection
// attempt is given (default 20 s).
type ConnectParams struct {
	Backoff           BackoffConfig
	MinConnectTimeout time.Duration
}

// WithConnectParams sets the connection backoff and minimum connect
// timeout; zero fields keep their defaults.
func WithConnectParams(p ConnectParams) DialOption {
	return func(o *dialOptions) { o.backoff, o.minConnect = p.Backoff, p.MinConnectTimeout }
}

// WithIdleTimeout sets how long a channel without calls stays connected:
// then its connections close and its resolver and balancer stop, until
// the next call or Connect wakes them (idle mode). Default 30 minutes;
// zero keeps a channel connected for good.
func WithIdleTimeout(d time.Duration) DialOption {
	return func(o *dialOptions) { o.idleTimeout, o.idleSet = max(d, 0), true }
}

// defaultIdleTimeout is grpc-go's.
const defaultIdleTimeout = 30 * time.Minute

// CallOptions are the per-call settings of the byte-level API.
type CallOptions struct {
	// Compressor names the compressor of the request messages: "" uses
	// the connection's default, "identity" sends them uncompressed.
	Compressor string
	// MaxRecvMsgSize and MaxSendMsgSize override the connection's limits
	// when positive.
	MaxRecvMsgSize int
	MaxSendMsgSize int
	// WaitForReady makes the call wait for a connection instead of
	// failing at once with UNAVAILABLE while connecting fails.
	WaitForReady bool
	// ContentSubtype selects application/grpc+<subtype>; "" sends plain
	// application/grpc (which means proto).
	ContentSubtype string
}

// ClientConn is a client's channel to a target: its resolver turns the
// target into addresses, its balancer keeps subchannels (one connection
// each) to them and publishes a picker, and every call asks the picker
// for a subchannel. It starts idle and builds the resolver and balancer on
// the first call or Connect.
//
// Who touches what: the resolver and the subchannels report to the
// serializer, which alone calls the balancer; the balancer's pickers are
// read by calls through one atomic pointer, with no lock shared between
// calls.
type ClientConn struct {
	target    string
	parsed    resolver.Target
	rb        resolver.Builder
	authority string
	scheme    string
	userAgent string
	opts      dialOptions
	defaultSC *ServiceConfig // nil: none

	closingCtx context.Context // ends when Close is called
	cancelAll  context.CancelFunc

	picker atomic.Pointer[pickerState]
	ser    *serializer
	eager  atomic.Int64 // see msgReader.eager

	running  atomic.Bool  // started, read without cc.mu by calls
	active   atomic.Int64 // calls in progress (idle mode)
	activity atomic.Bool  // a call started or ended since the last look

	mu       sync.Mutex
	state    connectivity.State
	stateCh  chan struct{} // closed at the next state change
	started  bool          // resolver and balancer built
	closed   bool
	res      resolver.Resolver
	subConns map[*subConn]struct{}
	lastErr  error         // the last connection error, for fail-fast calls
	idle     *time.Timer   // looks for idleness every idle timeout
	kaTime   time.Duration // keepalive time of new connections
	gen      uint64        // counts entries into and exits from idle mode
	wg       sync.WaitGroup

	// Owned by the serializer.
	bal     balancer.Balancer
	bcc     *balancerCC // bal's view of the channel
	balName string
	curSC   *ServiceConfig

	healthService atomic.Pointer[string] // of curSC's healthCheckConfig; nil: none
}

// ErrClientConnClosing is returned by calls on a closed ClientConn.
var ErrClientConnClosing = status.Error(codes.Canceled, "grpc: the client connection is closing")

// NewClient returns a ClientConn for target, an RFC 3986 URI whose scheme
// names a resolver ("dns:///host:port", "passthrough:///addr",
// "unix:path", "unix:///abs/path", "unix-abstract:name", or one
// registered with resolver.Register or given by WithResolvers). A target
// whose scheme has no resolver, such as a bare "host:port", is resolved
// by dns, as in grpc-go. It does not connect until the first call or
// Connect.
func NewClient(target string, opts ...DialOption) (*ClientConn, error) {
	cc := &ClientConn{target: target, subConns: map[*subConn]struct{}{}, stateCh: make(chan struct{})}
	cc.closingCtx, cc.cancelAll = context.WithCancel(context.Background())
	for _, o := range opts {
		o(&cc.opts)
	}
	if cc.opts.creds == nil {
		return nil, errors.New("grpc: no transport security set (use WithTransportCredentials(insecure.NewCredentials()) explicitly or set credentials)")
	}
	var err error
	cc.parsed, cc.rb, err = cc.parseTarget(target)
	if err != nil {
		return nil, err
	}
	if cc.opts.defaultSC != "" {
		sc, err := parseServiceConfig(cc.opts.defaultSC)
		if err != nil {
			return nil, fmt.Errorf("grpc: the default service config is invalid: %w", err)
		}
		cc.defaultSC = sc
	}
	cc.authority = cc.opts.authority
	if cc.authority == "" {
		cc.authority = defaultAuthority(cc.parsed)
	}
	cc.scheme = "http"
	if cc.opts.creds.Info().SecurityProtocol != "insecure" {
		cc.scheme = "https"
	}
	cc.userAgent = defaultUserAgent
	if cc.opts.userAgent != "" {
		cc.userAgent = cc.opts.userAgent + " " + defaultUserAgent
	}
	if cc.opts.maxRecv <= 0 {
		cc.opts.maxRecv = DefaultMaxRecvMsgSize
	}
	if cc.opts.maxSend <= 0 {
		cc.opts.maxSend = math.MaxInt32
	}
	if !cc.opts.idleSet {
		cc.opts.idleTimeout = defaultIdleTimeout
	}
	fillBackoff(&cc.opts.backoff)
	if cc.opts.minConnect <= 0 {
		cc.opts.minConnect = minConnectTimeout
	}
	cc.kaTime = cc.opts.connCfg.KeepaliveTime
	if err := cc.opts.connCfg.Validate(); err != nil {
		return nil, fmt.Errorf("grpc: %w", err)
	}
	cc.ser = newSerializer()
	cc.picker.Store(&pickerState{changed: make(chan struct{})})
	return cc, nil
}

// Target returns the target the ClientConn was created with.
func (cc *ClientConn) Target() string { return cc.target }

// CanonicalTarget returns the target as a full URI, with the scheme that
// resolves it ("dns:///localhost:50051" for "localhost:50051").
func (cc *ClientConn) CanonicalTarget() string { return cc.parsed.String() }

// GetState returns the channel's connectivity state.
func (cc *ClientConn) GetState() connectivity.State {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.state
}

// WaitForStateChange waits until the state differs from s or ctx ends; it
// reports whether the state changed.
func (cc *ClientConn) WaitForStateChange(ctx context.Context, s connectivity.State) bool {
	for {
		cc.mu.Lock()
		cur, ch := cc.state, cc.stateCh
		cc.mu.Unlock()
		if cur != s {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

func (cc *ClientConn) setStateLocked(s connectivity.State) {
	if cc.state == s || cc.state == connectivity.Shutdown {
		return
	}
	cc.state = s
	close(cc.stateCh)
	cc.stateCh = make(chan struct{})
}

// Connect leaves idle mode: the resolver and balancer start, and the
// balancer connects its subchannels.
func (cc *ClientConn) Connect() {
	cc.exitIdle()
	cc.ser.schedule(func() {
		if ei, ok := cc.bal.(balancer.ExitIdler); ok {
			ei.ExitIdle()
		}
	})
}

// ResetConnectBackoff makes subchannels waiting out a backoff after a
// failed connection try again now.
func (cc *ClientConn) ResetConnectBackoff() {
	cc.mu.Lock()
	scs := make([]*subConn, 0, len(cc.subConns))
	for sc := range cc.subConns {
		scs = append(scs, sc)
	}
	cc.mu.Unlock()
	for _, sc := range scs {
		sc.resetBackoff()
	}
}

// exitIdle builds the resolver and the balancer once.
func (cc *ClientConn) exitIdle() {
	if cc.running.Load() {
		return // the path of every call: no lock
	}
	cc.mu.Lock()
	if cc.started || cc.closed {
		cc.mu.Unlock()
		return
	}
	cc.started = true
	cc.running.Store(true)
	cc.gen++
	cc.setStateLocked(connectivity.Connecting)
	if d := cc.opts.idleTimeout; d > 0 {
		if cc.idle == nil {
			cc.idle = time.AfterFunc(d, cc.checkIdle)
		} else {
			cc.idle.Reset(d)
		}
	}
	cc.mu.Unlock()
	// The balancer exists before the resolver can push a state to it.
	done := make(chan struct{})
	cc.ser.schedule(func() {
		defer close(done)
		if cc.defaultSC != nil && cc.defaultSC.lbName != "" {
			cc.switchBalancer(cc.defaultSC.lbName)
		} else {
			cc.switchBalancer(defaultPolicy)
		}
	})
	<-done
	r, err := cc.rb.Build(cc.parsed, &resolverCC{cc: cc}, resolver.BuildOptions{
		DisableServiceConfig: cc.opts.disableSC,
		Dialer:               cc.opts.dialer,
		Authority:            cc.authority,
	})
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if err != nil {
		cc.lastErr = fmt.Errorf("resolver: %w", err)
		cc.ser.schedule(func() {
			if cc.bal != nil {
				cc.bal.ResolverError(err)
			}
		})
		return
	}
	if cc.closed {
		go r.Close()
		return
	}
	cc.res = r
}

func (cc *ClientConn) callStarted() {
	cc.active.Add(1)
	cc.noteActivity()
}

func (cc *ClientConn) callEnded() {
	cc.active.Add(-1)
	cc.noteActivity()
}

// noteActivity marks the channel active; it writes the shared flag only
// when it is not set already, so that busy channels' calls do not contend
// on it.
func (cc *ClientConn) noteActivity() {
	if !cc.activity.Load() {
		cc.activity.Store(true)
	}
}

// checkIdle runs every idle timeout while the channel is active: a
// channel that had no call in progress and none starting or ending since
// the last look goes idle.
func (cc *ClientConn) checkIdle() {
	if cc.active.Load() > 0 || cc.activity.Swap(false) {
		cc.mu.Lock()
		if !cc.closed && cc.started {
			cc.idle.Reset(cc.opts.idleTimeout)
		}
		cc.mu.Unlock()
		return
	}
	cc.enterIdle()
}

// enterIdle stops the resolver and the balancer, whose subchannels close
// their connections; the next call or Connect starts them again.
func (cc *ClientConn) enterIdle() {
	cc.mu.Lock()
	if cc.closed || !cc.started || cc.active.Load() > 0 {
		cc.mu.Unlock()
		return
	}
	cc.started = false
	cc.running.Store(false)
	cc.gen++
	gen := cc.gen
	r := cc.res
	cc.res = nil
	// Scheduled under cc.mu, so before anything a call waking the channel
	// schedules; if one has woken it by the time this runs, the balancer
	// stays and serves the new resolver.
	cc.ser.schedule(func() {
		cc.mu.Lock()
		stale := cc.gen != gen
		cc.mu.Unlock()
		if !stale {
			cc.closeBalancer()
			cc.updatePicker(nil, connectivity.Idle)
		}
	})
	cc.mu.Unlock()
	if r != nil {
		r.Close()
	}
}

// closeBalancer closes the balancer; what it still had queued (its
// subchannels' state changes) is dropped. On the serializer.
func (cc *ClientConn) closeBalancer() {
	if cc.bal != nil {
		cc.bcc.closed.Store(true)
		cc.bal.Close()
		cc.bal, cc.bcc, cc.balName = nil, nil, ""
	}
}

// defaultPolicy is the balancer used when no service config names one.
const defaultPolicy = "pick_first"

// switchBalancer makes name the balancer; on the serializer.
func (cc *ClientConn) switchBalancer(name string) {
	if cc.bal != nil && cc.balName == name {
		return
	}
	b := balancer.Get(name)
	if b == nil {
		b = balancer.Get(defaultPolicy)
		name = defaultPolicy
	}
	cc.closeBalancer()
	cc.balName = name
	cc.bcc = &balancerCC{cc: cc}
	cc.bal = b.Build(cc.bcc, balancer.BuildOptions{Authority: cc.authority, Target: cc.parsed})
}

// updateResolverState hands a resolver's state to the balancer; on the
// serializer.
func (cc *ClientConn) updateResolverState(s resolver.State) error {
	sc := cc.defaultSC
	if !cc.opts.disableSC && s.ServiceConfig != nil {
		if s.ServiceConfig.Err != nil {
			// gRFC A21: a bad config from the resolver keeps the one in
			// force.
			sc = cc.curSC
		} else if c, ok := s.ServiceConfig.Config.(*ServiceConfig); ok {
			sc = c
		}
	}
	cc.curSC = sc
	cc.setHealthService(sc)
	name := defaultPolicy
	var lbCfg serviceconfig.LoadBalancingConfig
	if sc != nil && sc.lbName != "" {
		name, lbCfg = sc.lbName, sc.lbConfig
	}
	cc.switchBalancer(name)
	if len(s.Endpoints) == 0 && len(s.Addresses) > 0 {
		for _, a := range s.Addresses {
			s.Endpoints = append(s.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{a}})
		}
	}
	err := cc.bal.UpdateClientConnState(balancer.ClientConnState{ResolverState: s, BalancerConfig: lbCfg})
	if errors.Is(err, balancer.ErrBadResolverState) {
		cc.resolveNow()
		return resolver.ErrBadResolverState
	}
	return err
}

// resolveNow asks the resolver to resolve again. It does so on a goroutine
// of its own: a resolver may answer at once with UpdateState, which waits
// for the serializer, and the balancer asks from the serializer.
func (cc *ClientConn) resolveNow() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	r := cc.res
	if r == nil || cc.closed {
		return
	}
	cc.wg.Add(1)
	go func() {
		defer cc.wg.Done()
		r.ResolveNow(resolver.ResolveNowOptions{})
	}()
}

// Close closes the channel: its resolver, balancer and connections stop at
// once, and calls in progress fail with CANCELED.
func (cc *ClientConn) Close() error {
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return nil
	}
	cc.closed = true
	cc.cancelAll()
	r := cc.res
	cc.res = nil
	cc.setStateLocked(connectivity.Shutdown)
	if cc.idle != nil {
		cc.idle.Stop()
	}
	cc.mu.Unlock()
	if r != nil {
		r.Close()
	}
	cc.ser.schedule(cc.closeBalancer)
	cc.ser.close()
	cc.mu.Lock()
	scs := make([]*subConn, 0, len(cc.subConns))
	for sc := range cc.subConns {
		scs = append(scs, sc)
	}
	cc.mu.Unlock()
	for _, sc := range scs {
		sc.close()
	}
	cc.updatePicker(nil, connectivity.Shutdown) // wakes waiting calls
	cc.wg.Wait()
	return nil
}

// resolverCC is the channel as its resolver sees it.
type resolverCC struct{ cc *ClientConn }

func (r *resolverCC) UpdateState(s resolver.State) error {
	errc := make(chan error, 1)
	if !r.cc.ser.schedule(func() { errc <- r.cc.updateResolverState(s) }) {
		return ErrClientConnClosing
	}
	return <-errc
}

func (r *resolverCC) ReportError(err error) {
	cc := r.cc
	cc.ser.schedule(func() {
		if cc.bal != nil {
			cc.bal.ResolverError(err)
		}
	})
}

func (r *resolverCC) ParseServiceConfig(js string) *serviceconfig.ParseResult {
	sc, err := parseServiceConfig(js)
	if err != nil {
		return &serviceconfig.ParseResult{Err: err}
	}
	return &serviceconfig.ParseResult{Config: sc}
}

// balancerCC is the channel as one balancer sees it. Once that balancer is
// closed (a policy switch, idle mode, Close), what it still does through
// it is ignored.
type balancerCC struct {
	cc     *ClientConn
	closed atomic.Bool
}

func (b *balancerCC) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	if len(addrs) == 0 {
		return nil, errors.New("grpc: NewSubConn without an address")
	}
	cc := b.cc
	sc := &subConn{cc: cc, bcc: b, addr: addrs[0], listener: opts.StateListener, healthCheck: opts.HealthCheckEnabled}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closed || b.closed.Load() {
		return nil, ErrClientConnClosing
	}
	cc.subConns[sc] = struct{}{}
	return sc, nil
}

func (b *balancerCC) UpdateState(s balancer.State) {
	if !b.closed.Load() {
		b.cc.updatePicker(s.Picker, s.ConnectivityState)
	}
}

func (b *balancerCC) ResolveNow(resolver.ResolveNowOptions) { b.cc.resolveNow() }

func (b *balancerCC) Target() string { return b.cc.target }

// dial makes one connection to addr, through the credentials' handshake.
func (cc *ClientConn) dial(ctx context.Context, addr resolver.Address) (*stream.Conn, error) {
	var raw net.Conn
	var err error
	if cc.opts.dialer != nil {
		raw, err = cc.opts.dialer(ctx, addr.Addr)
	} else {
		var d net.Dialer
		raw, err = d.DialContext(ctx, addrNetwork(addr), addr.Addr)
	}
	if err != nil {
		return nil, err
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	authority := cc.authority
	if addr.ServerName != "" {
		authority = addr.ServerName
	}
	nc, _, err := cc.opts.creds.ClientHandshake(ctx, authority, raw)
	if err != nil {
		raw.Close()
		return nil, err
	}
	cfg := cc.opts.connCfg
	cc.mu.Lock()
	cfg.KeepaliveTime = cc.kaTime
	cc.mu.Unlock()
	return stream.NewClientConn(nc, &cfg)
}

// connEnded learns from a connection that is going away: a server that sent
// GOAWAY "too_many_pings" gets keepalive pings half as often on the
// channel's next connections (gRFC A8).
func (cc *ClientConn) connEnded(c *stream.Conn) {
	if !c.PeerGoAway().TooManyPings() {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if t := cc.kaTime; t > 0 && 2*t > t {
		cc.kaTime = 2 * t
	}
}
