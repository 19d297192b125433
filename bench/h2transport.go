package bench

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
)

// H2Options configure h2rpc's client stack for a run.
type H2Options struct {
	// TLS, when set, secures the connections; nil means h2c.
	TLS *tls.Config
	// Authority overrides :authority (and the TLS server name when TLS
	// sets none).
	Authority string
	// Wire, when set, counts the connections' traffic.
	Wire *WireCounters
	// ConnectTimeout bounds each connection's setup (default 10 s).
	ConnectTimeout time.Duration
	// Metadata is sent with every call.
	Metadata [][2]string
}

// H2Transport drives a target with h2rpc's own client: one channel
// (and so one HTTP/2 connection) per connection of the run.
type H2Transport struct {
	target string
	opts   H2Options
	ccs    []*channel.ClientConn
	md     metadata.MD

	mu      sync.Mutex
	lastErr []error // the last dial or handshake error of each connection
}

// NewH2Transport returns a transport for target ("host:port" or any
// target channel.NewClient takes) with n connections.
func NewH2Transport(target string, n int, opts H2Options) (*H2Transport, error) {
	t := &H2Transport{target: target, opts: opts, lastErr: make([]error, n)}
	if len(opts.Metadata) > 0 {
		t.md = metadata.MD{}
		for _, kv := range opts.Metadata {
			t.md.Append(kv[0], kv[1])
		}
	}
	for i := range n {
		var creds credentials.TransportCredentials = insecure.NewCredentials()
		if opts.TLS != nil {
			creds = credentials.NewTLS(opts.TLS)
		}
		creds = &watchCreds{TransportCredentials: creds, t: t, i: i}
		dopts := []channel.DialOption{
			channel.WithTransportCredentials(creds),
			channel.WithUserAgent("h2rpc-bench"),
			channel.WithIdleTimeout(0),
			channel.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
				if err != nil {
					t.setErr(i, err)
					return nil, err
				}
				if opts.Wire != nil {
					c = CountConn(c, opts.Wire, opts.TLS == nil)
				}
				return c, nil
			}),
		}
		if opts.Authority != "" {
			dopts = append(dopts, channel.WithAuthority(opts.Authority))
		}
		cc, err := channel.NewClient(target, dopts...)
		if err != nil {
			t.Close()
			return nil, err
		}
		t.ccs = append(t.ccs, cc)
	}
	return t, nil
}

func (t *H2Transport) setErr(i int, err error) {
	t.mu.Lock()
	t.lastErr[i] = err
	t.mu.Unlock()
}

// watchCreds records handshake errors and, with wire counters, counts
// the frames above TLS.
type watchCreds struct {
	credentials.TransportCredentials
	t *H2Transport
	i int
}

func (w *watchCreds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	c, ai, err := w.TransportCredentials.ClientHandshake(ctx, authority, raw)
	if err != nil {
		w.t.setErr(w.i, &HandshakeError{Err: err})
		return nil, nil, err
	}
	if w.t.opts.Wire != nil && w.t.opts.TLS != nil {
		c = CountFrames(c, w.t.opts.Wire)
	}
	return c, ai, nil
}

func (w *watchCreds) Clone() credentials.TransportCredentials {
	return &watchCreds{TransportCredentials: w.TransportCredentials.Clone(), t: w.t, i: w.i}
}

// HandshakeError is a failed TLS handshake.
type HandshakeError struct{ Err error }

func (e *HandshakeError) Error() string { return "TLS handshake: " + e.Err.Error() }

func (e *HandshakeError) Unwrap() error { return e.Err }

// ConnectError says why a connection could not be set up.
type ConnectError struct {
	Target string
	Err    error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("cannot connect to %s: %v", e.Target, e.Err)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Connect opens connection i and waits until it is ready.
func (t *H2Transport) Connect(ctx context.Context, i int) error {
	d := t.opts.ConnectTimeout
	if d <= 0 {
		d = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	cc := t.ccs[i]
	cc.Connect()
	for {
		s := cc.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure, connectivity.Shutdown:
			t.mu.Lock()
			err := t.lastErr[i]
			t.mu.Unlock()
			if err == nil {
				err = fmt.Errorf("the connection is in state %v", s)
			}
			return &ConnectError{Target: t.target, Err: err}
		}
		if !cc.WaitForStateChange(ctx, s) {
			t.mu.Lock()
			err := t.lastErr[i]
			t.mu.Unlock()
			if err == nil {
				err = fmt.Errorf("no connection within %v", d)
			}
			return &ConnectError{Target: t.target, Err: err}
		}
	}
}

// Gone reports whether connection i failed and cannot reconnect.
func (t *H2Transport) Gone(i int) bool {
	return t.ccs[i].GetState() == connectivity.TransientFailure
}

// Close closes every channel.
func (t *H2Transport) Close() error {
	for _, cc := range t.ccs {
		cc.Close()
	}
	return nil
}

// Worker returns a worker calling over connection i.
func (t *H2Transport) Worker(i int) Worker {
	return &h2Worker{cc: t.ccs[i], md: t.md, co: &channel.CallOptions{}}
}

type h2Worker struct {
	cc    *channel.ClientConn
	md    metadata.MD
	co    *channel.CallOptions
	req   []byte
	reply []byte
}

func (w *h2Worker) withMD(ctx context.Context) context.Context {
	if w.md == nil {
		return ctx
	}
	return metadata.NewOutgoingContext(ctx, w.md)
}

func (w *h2Worker) Unary(ctx context.Context, method string, msg []byte) error {
	w.req = append(w.req[:0], 0, 0, 0, 0, 0) // room for the message header
	w.req = append(w.req, msg...)
	var err error
	w.reply, err = w.cc.Invoke(w.withMD(ctx), method, w.req, w.reply, w.co, nil, nil)
	return err
}

func (w *h2Worker) NewStream(ctx context.Context, method string) (Stream, error) {
	cs, err := w.cc.NewStream(w.withMD(ctx), method, w.co)
	if err != nil {
		return nil, err
	}
	return &h2Stream{cs: cs}, nil
}

type h2Stream struct {
	cs      *channel.ClientStream
	out, in []byte
}

func (s *h2Stream) Send(msg []byte) error {
	s.out = append(s.out[:0], 0, 0, 0, 0, 0) // room for the message header
	s.out = append(s.out, msg...)
	return s.cs.SendMsg(s.out)
}

func (s *h2Stream) CloseSend() error { return s.cs.CloseSend() }

func (s *h2Stream) Recv() error {
	var err error
	s.in, err = s.cs.RecvMsg(s.in)
	return err
}
