package dns

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/resolver"
)

// Scheme is the target scheme the resolver serves.
const Scheme = "dns"

// Defaults of the settings below.
const (
	defaultMinResolutionInterval = 30 * time.Second
	defaultResolvingTimeout      = 30 * time.Second
)

var (
	// minResolutionInterval and resolvingTimeout, in nanoseconds, are
	// read by Build: a change affects the resolvers built after it.
	minResolutionInterval atomic.Int64
	resolvingTimeout      atomic.Int64
)

// rollPercent draws a resolver's number from 0 to 99 for the percentage
// of service config choices; tests replace it.
var rollPercent = func() int { return rand.IntN(100) }

func init() {
	minResolutionInterval.Store(int64(defaultMinResolutionInterval))
	resolvingTimeout.Store(int64(defaultResolvingTimeout))
	resolver.Register(NewBuilder())
}

// SetMinResolutionInterval sets how long after a successful resolution a
// resolver waits before it resolves again, however often the channel calls
// ResolveNow: 30 seconds by default. It applies to resolvers built after
// the call; a negative d is taken as zero.
func SetMinResolutionInterval(d time.Duration) {
	minResolutionInterval.Store(int64(max(d, 0)))
}

// SetResolvingTimeout sets how long one resolution may take before it
// fails: 30 seconds by default. It applies to resolvers built after the
// call; a d that is not positive leaves the timeout as it was.
func SetResolvingTimeout(d time.Duration) {
	if d > 0 {
		resolvingTimeout.Store(int64(d))
	}
}

// NewBuilder returns the builder of dns resolvers, the one registered for
// Scheme.
func NewBuilder() resolver.Builder { return builder{} }

type builder struct{}

func (builder) Scheme() string { return Scheme }

// Build checks target and starts resolving it. A target that is no
// host[:port], or whose DNS server is no host[:port], is an error. An IP
// address is pushed as the one address before Build returns; a name is
// resolved on the resolver's own goroutine, until Close.
func (builder) Build(target resolver.Target, cc resolver.ClientConn, opts resolver.BuildOptions) (resolver.Resolver, error) {
	host, port, server, err := parse(target)
	if err != nil {
		return nil, err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs := []resolver.Address{{Addr: net.JoinHostPort(ip.String(), port)}}
		// The channel's answer is of no use here: the address cannot
		// change.
		_ = cc.UpdateState(resolver.State{Addresses: addrs, Endpoints: []resolver.Endpoint{{Addresses: addrs}}})
		return ipResolver{}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &dnsResolver{
		host:        host,
		port:        port,
		netr:        netResolver(server),
		server:      server,
		cc:          cc,
		minInterval: time.Duration(minResolutionInterval.Load()),
		timeout:     time.Duration(resolvingTimeout.Load()),
		ctx:         ctx,
		cancel:      cancel,
		resolveNow:  make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
	if !opts.DisableServiceConfig && !isLocalhost(host) {
		r.readConfig = true
		r.client.hostname, _ = os.Hostname()
		r.client.roll = rollPercent()
	}
	go r.watch()
	return r, nil
}

// parse returns the host and port target names and the host:port of the
// DNS server its authority names, "" for the system's.
func parse(target resolver.Target) (host, port, server string, err error) {
	host, port, err = parseTarget(target.Endpoint(), defaultPort)
	if err != nil {
		return "", "", "", fmt.Errorf("dns: target %q: %v", target.String(), err)
	}
	if target.URL.User != nil {
		return "", "", "", fmt.Errorf("dns: target %q: a DNS server is host[:port], without user information", target.String())
	}
	if target.URL.Host == "" {
		return host, port, "", nil
	}
	sh, sp, err := parseTarget(target.URL.Host, defaultServerPort)
	if err != nil {
		return "", "", "", fmt.Errorf("dns: target %q: DNS server: %v", target.String(), err)
	}
	return host, port, net.JoinHostPort(sh, sp), nil
}

// netResolver returns the system's resolver when server is "", or one
// that asks server over UDP (and TCP for answers too long for a datagram).
func netResolver(server string) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		},
	}
}

// ipResolver is the resolver of an IP address: its one state never
// changes.
type ipResolver struct{}

func (ipResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (ipResolver) Close()                                {}

// dnsResolver follows a host name. Its fields are set by Build; its
// goroutine, watch, alone calls cc, and netr only from lookup.
type dnsResolver struct {
	host, port  string
	netr        *net.Resolver
	server      string // the DNS server netr asks, "" for the system's
	cc          resolver.ClientConn
	minInterval time.Duration
	timeout     time.Duration
	// readConfig is set when the host's TXT record is looked up for a
	// service config; client is what its choices are matched against.
	readConfig bool
	client     client

	// ctx ends when Close is called; it bounds every lookup.
	ctx    context.Context
	cancel context.CancelFunc
	// resolveNow holds a token when ResolveNow was called since the last
	// lookup began.
	resolveNow chan struct{}
	// done is closed when watch returns.
	done chan struct{}
}

// ResolveNow asks for a resolution: at once if the last success was at
// least the minimum interval ago, at the end of the interval otherwise. It
// does not cut short the backoff after a failure.
func (r *dnsResolver) ResolveNow(resolver.ResolveNowOptions) {
	select {
	case r.resolveNow <- struct{}{}:
	default:
	}
}

// Close stops the resolver, cancelling a lookup in progress, and returns
// once its goroutine has ended: it calls the ClientConn no more. The
// channel must not call it from inside UpdateState or ReportError.
func (r *dnsResolver) Close() {
	r.cancel()
	<-r.done
}

// watch resolves until Close: after a success it waits for ResolveNow and
// the minimum interval; after a failure, for the backoff.
func (r *dnsResolver) watch() {
	defer close(r.done)
	for failures := 0; ; {
		// The lookup about to start answers every ResolveNow so far.
		select {
		case <-r.resolveNow:
		default:
		}
		state, err := r.lookup()
		if r.ctx.Err() != nil {
			return
		}
		if err != nil {
			r.cc.ReportError(err)
		} else {
			err = r.cc.UpdateState(state)
		}
		var wait time.Duration
		if err == nil {
			failures = 0
			next := time.Now().Add(r.minInterval)
			select {
			case <-r.ctx.Done():
				return
			case <-r.resolveNow:
			}
			wait = time.Until(next)
		} else {
			failures++
			wait = backoff(failures)
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-r.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// lookup resolves the host's A and AAAA records into a state of one
// endpoint per address and, unless service configs are disabled, looks up
// its TXT record at the same time for the state's service config.
func (r *dnsResolver) lookup() (resolver.State, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	defer cancel()
	var (
		wg     sync.WaitGroup
		txts   []string
		txtErr error
	)
	if r.readConfig {
		wg.Go(func() { txts, txtErr = r.netr.LookupTXT(ctx, configPrefix+r.host) })
	}
	ips, err := r.netr.LookupNetIP(ctx, "ip", r.host)
	if err != nil {
		// The TXT record is of no use without addresses.
		cancel()
	}
	wg.Wait()
	if de, ok := err.(*net.DNSError); ok && r.server != "" {
		// The error names the system's server, not the one asked.
		named := *de
		named.Server = r.server
		err = &named
	}
	if err != nil {
		return resolver.State{}, fmt.Errorf("dns: resolving %q: %w", r.host, err)
	}
	if len(ips) == 0 {
		return resolver.State{}, fmt.Errorf("dns: resolving %q: no A or AAAA records", r.host)
	}
	s := resolver.State{
		Addresses: make([]resolver.Address, len(ips)),
		Endpoints: make([]resolver.Endpoint, len(ips)),
	}
	for i, ip := range ips {
		s.Addresses[i] = resolver.Address{Addr: net.JoinHostPort(ip.Unmap().String(), r.port)}
		s.Endpoints[i] = resolver.Endpoint{Addresses: s.Addresses[i : i+1 : i+1]}
	}
	if txtErr == nil {
		s.ServiceConfig = r.serviceConfig(txts)
	}
	return s, nil
}

// The backoff between failed resolutions, as in gRPC's connection backoff:
// 1 s times 1.6 per failure, at most 120 s, give or take 20 %.
const (
	backoffBase   = float64(time.Second)
	backoffFactor = 1.6
	backoffMax    = float64(120 * time.Second)
	backoffJitter = 0.2
)

// backoff returns how long to wait after the given number of consecutive
// failures (at least 1): 1.6 s the first time.
func backoff(failures int) time.Duration {
	d := math.Min(backoffBase*math.Pow(backoffFactor, float64(failures)), backoffMax)
	return time.Duration(d * (1 + backoffJitter*(2*rand.Float64()-1)))
}
