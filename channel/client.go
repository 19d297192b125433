package channel

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stream"
)

// Version is the h2rpc version sent in user-agent.
const Version = "0.1.0"

const defaultUserAgent = "h2rpc-go/" + Version

// DialOption configures a ClientConn.
type DialOption func(*dialOptions)

type dialOptions struct {
	creds      credentials.TransportCredentials
	authority  string
	dialer     func(ctx context.Context, addr string) (net.Conn, error)
	userAgent  string
	connCfg    stream.Config
	maxRecv    int
	maxSend    int
	compressor string
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

// WithContextDialer replaces the dialer; addr is the target's address.
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

// ClientConn is a client's channel to one target: it dials lazily,
// keeps one HTTP/2 connection, replaces it when it fails or goes away, and
// runs calls over it.
type ClientConn struct {
	target    string
	network   string
	addr      string
	authority string
	scheme    string
	userAgent string
	opts      dialOptions

	closingCtx context.Context // ends when Close is called
	cancelAll  context.CancelFunc

	mu         sync.Mutex
	conn       *stream.Conn
	connecting chan struct{} // closed when the attempt under way ends
	lastErr    error         // why the last attempt failed; nil once connected
	retryAt    time.Time
	failures   int
	closed     bool
	old        map[*stream.Conn]struct{} // replaced connections still finishing calls
	wg         sync.WaitGroup
	eager      atomic.Int64 // see msgReader.eager
}

// ErrClientConnClosing is returned by calls on a closed ClientConn.
var ErrClientConnClosing = status.Error(codes.Canceled, "grpc: the client connection is closing")

// NewClient returns a ClientConn for target: "host:port",
// "dns:///host:port", "passthrough:///addr", "unix:path" or
// "unix:///abs/path". It does not connect until the first call or Connect.
func NewClient(target string, opts ...DialOption) (*ClientConn, error) {
	cc := &ClientConn{target: target, old: make(map[*stream.Conn]struct{})}
	cc.closingCtx, cc.cancelAll = context.WithCancel(context.Background())
	for _, o := range opts {
		o(&cc.opts)
	}
	if cc.opts.creds == nil {
		return nil, errors.New("grpc: no transport security set (use WithTransportCredentials(insecure.NewCredentials()) explicitly or set credentials)")
	}
	var err error
	cc.network, cc.addr, err = parseTarget(target)
	if err != nil {
		return nil, err
	}
	cc.authority = cc.opts.authority
	if cc.authority == "" {
		if cc.network == "unix" {
			cc.authority = "localhost"
		} else {
			cc.authority = cc.addr
		}
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
	return cc, nil
}

func parseTarget(t string) (network, addr string, err error) {
	switch {
	case strings.HasPrefix(t, "unix:///"):
		return "unix", t[len("unix://"):], nil
	case strings.HasPrefix(t, "unix://"):
		return "", "", errors.New("grpc: unix target must be unix:path or unix:///absolute/path")
	case strings.HasPrefix(t, "unix:"):
		return "unix", t[len("unix:"):], nil
	case strings.HasPrefix(t, "dns:///"):
		t = t[len("dns:///"):]
	case strings.HasPrefix(t, "passthrough:///"):
		t = t[len("passthrough:///"):]
	case strings.Contains(t, "://"):
		return "", "", errors.New("grpc: unsupported target scheme in " + t + " (use host:port, dns:///host:port, passthrough:///addr or unix:path)")
	}
	if t == "" {
		return "", "", errors.New("grpc: empty target")
	}
	if _, _, err := net.SplitHostPort(t); err != nil {
		t = net.JoinHostPort(t, "443")
	}
	return "tcp", t, nil
}

// Target returns the target the ClientConn was created with.
func (cc *ClientConn) Target() string { return cc.target }

// Connect starts connecting now, if no connection exists or is being made.
func (cc *ClientConn) Connect() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.closed && cc.liveConnLocked() == nil && cc.connecting == nil {
		cc.startDialLocked()
	}
}

// Close closes the connections at once; calls in progress fail with
// CANCELED.
func (cc *ClientConn) Close() error {
	cc.mu.Lock()
	if cc.closed {
		cc.mu.Unlock()
		return nil
	}
	cc.closed = true
	cc.cancelAll()
	conns := make([]*stream.Conn, 0, len(cc.old)+1)
	if cc.conn != nil {
		conns = append(conns, cc.conn)
	}
	for c := range cc.old {
		conns = append(conns, c)
	}
	cc.conn = nil
	cc.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	cc.wg.Wait()
	for _, c := range conns {
		c.Wait()
	}
	return nil
}

func (cc *ClientConn) liveConnLocked() *stream.Conn {
	c := cc.conn
	if c == nil {
		return nil
	}
	select {
	case <-c.Done():
		cc.conn = nil
		return nil
	default:
		return c
	}
}

// getConn returns a connection ready for streams. Fail-fast calls fail at
// once while connecting fails (the last attempt failed); wait-for-ready
// calls wait until a connection is made or ctx ends.
func (cc *ClientConn) getConn(ctx context.Context, waitForReady bool) (*stream.Conn, error) {
	for {
		cc.mu.Lock()
		if cc.closed {
			cc.mu.Unlock()
			return nil, ErrClientConnClosing
		}
		if c := cc.liveConnLocked(); c != nil {
			cc.mu.Unlock()
			return c, nil
		}
		if cc.connecting == nil {
			cc.startDialLocked()
		}
		ch, lastErr := cc.connecting, cc.lastErr
		cc.mu.Unlock()
		if lastErr != nil && !waitForReady {
			return nil, status.Errorf(codes.Unavailable, "connection error: %v", lastErr)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
}

// dropConn stops using c for new calls (it is draining); its calls in
// progress finish, then it closes.
func (cc *ClientConn) dropConn(c *stream.Conn) {
	cc.mu.Lock()
	if cc.conn != c {
		cc.mu.Unlock()
		return
	}
	cc.conn = nil
	if cc.closed {
		cc.mu.Unlock()
		return
	}
	cc.old[c] = struct{}{}
	cc.wg.Add(1)
	cc.mu.Unlock()
	go func() {
		defer cc.wg.Done()
		c.Shutdown(context.Background())
		c.Wait()
		cc.mu.Lock()
		delete(cc.old, c)
		cc.mu.Unlock()
	}()
}

// Reconnection backoff, as in gRPC's connection-backoff document.
const (
	backoffBase       = time.Second
	backoffMultiplier = 1.6
	backoffJitter     = 0.2
	backoffMax        = 120 * time.Second
	minConnectTimeout = 20 * time.Second
)

func backoff(failures int) time.Duration {
	d := float64(backoffBase)
	for i := 1; i < failures && d < float64(backoffMax); i++ {
		d *= backoffMultiplier
	}
	d = min(d, float64(backoffMax))
	d *= 1 + backoffJitter*(2*rand.Float64()-1)
	return time.Duration(d)
}

func (cc *ClientConn) startDialLocked() {
	ch := make(chan struct{})
	cc.connecting = ch
	delay := time.Until(cc.retryAt)
	cc.wg.Add(1)
	go cc.dial(ch, delay)
}

func (cc *ClientConn) dial(ch chan struct{}, delay time.Duration) {
	defer cc.wg.Done()
	defer close(ch)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-cc.closingCtx.Done():
			t.Stop()
			cc.mu.Lock()
			cc.connecting = nil
			cc.mu.Unlock()
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), minConnectTimeout)
	stop := context.AfterFunc(cc.closingCtx, cancel)
	c, err := cc.connect(ctx)
	stop()
	cancel()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.connecting = nil
	if err != nil {
		cc.lastErr = err
		cc.failures++
		cc.retryAt = time.Now().Add(backoff(cc.failures))
		return
	}
	if cc.closed {
		c.Close()
		return
	}
	cc.conn = c
	cc.lastErr = nil
	cc.failures = 0
	cc.retryAt = time.Time{}
}

func (cc *ClientConn) connect(ctx context.Context) (*stream.Conn, error) {
	var raw net.Conn
	var err error
	if cc.opts.dialer != nil {
		raw, err = cc.opts.dialer(ctx, cc.addr)
	} else {
		var d net.Dialer
		raw, err = d.DialContext(ctx, cc.network, cc.addr)
	}
	if err != nil {
		return nil, err
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	nc, _, err := cc.opts.creds.ClientHandshake(ctx, cc.authority, raw)
	if err != nil {
		raw.Close()
		return nil, err
	}
	cfg := cc.opts.connCfg
	return stream.NewClientConn(nc, &cfg)
}
