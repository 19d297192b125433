package stub

import (
	"context"
	"strings"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/codec"
	"github.com/h2rpc/h2rpc/internal/bufpool"
)

// ClientConn is a client's connection to a target, shared by all the calls
// and generated clients that use it. It connects lazily and reconnects when
// the connection fails. It is safe for concurrent use.
type ClientConn struct {
	cc        *channel.ClientConn
	defaults  []CallOption
	unaryInt  UnaryClientInterceptor
	streamInt StreamClientInterceptor
	creds     callCreds
}

var _ ClientConnInterface = (*ClientConn)(nil)

// NewClient returns a ClientConn for target, a URI whose scheme names a
// resolver ("dns:///host:port", "passthrough:///addr", "unix:path",
// "unix-abstract:name", or one of WithResolvers); a bare "host:port" is
// resolved by dns, as in grpc-go. Calls are spread over the resolved
// addresses by the service config's balancer (pick_first by default). It
// does not connect until the first call or Connect.
// WithTransportCredentials is required.
func NewClient(target string, opts ...DialOption) (*ClientConn, error) {
	var o dialOptions
	for _, opt := range opts {
		opt(&o)
	}
	creds, err := newCallCreds(&o)
	if err != nil {
		return nil, err
	}
	cc, err := channel.NewClient(target, o.channel...)
	if err != nil {
		return nil, err
	}
	return &ClientConn{
		creds:     creds,
		cc:        cc,
		defaults:  o.defaults,
		unaryInt:  chainUnaryClient(o.unaryInts),
		streamInt: chainStreamClient(o.streamInts),
	}, nil
}

// Target returns the target the ClientConn was made for.
func (cc *ClientConn) Target() string { return cc.cc.Target() }

// Connect starts connecting now instead of at the first call.
func (cc *ClientConn) Connect() { cc.cc.Connect() }

// GetState returns the client's connectivity state.
func (cc *ClientConn) GetState() connectivity.State { return cc.cc.GetState() }

// WaitForStateChange waits until the state differs from s or ctx ends, and
// reports whether it changed.
func (cc *ClientConn) WaitForStateChange(ctx context.Context, s connectivity.State) bool {
	return cc.cc.WaitForStateChange(ctx, s)
}

// ResetConnectBackoff makes subchannels waiting out a backoff try again
// now.
func (cc *ClientConn) ResetConnectBackoff() { cc.cc.ResetConnectBackoff() }

// CanonicalTarget returns the target as a full URI with its resolver's
// scheme ("dns:///localhost:50051" for "localhost:50051").
func (cc *ClientConn) CanonicalTarget() string { return cc.cc.CanonicalTarget() }

// Close closes the connection; calls in progress fail with codes.Canceled.
func (cc *ClientConn) Close() error { return cc.cc.Close() }

// Invoke performs a unary call of method ("/package.Service/Method"):
// it sends args and fills reply.
func (cc *ClientConn) Invoke(ctx context.Context, method string, args, reply any, opts ...CallOption) error {
	if cc.unaryInt != nil {
		return cc.unaryInt(ctx, method, args, reply, cc, invoke, withDefaults(cc.defaults, opts)...)
	}
	return cc.invoke(ctx, method, args, reply, cc.defaults, opts)
}

// invoke is the UnaryInvoker at the end of the interceptor chain; the
// options it gets already include the defaults.
func invoke(ctx context.Context, method string, req, reply any, cc *ClientConn, opts ...CallOption) error {
	return cc.invoke(ctx, method, req, reply, nil, opts)
}

func withDefaults(defaults, opts []CallOption) []CallOption {
	if len(defaults) == 0 {
		return opts
	}
	return append(defaults[:len(defaults):len(defaults)], opts...)
}

func (cc *ClientConn) invoke(ctx context.Context, method string, req, reply any, defaults, opts []CallOption) error {
	ci := applyCallOptions(applyCallOptions(callInfo{}, defaults), opts)
	cd, co, err := ci.resolve()
	if err != nil {
		return err
	}
	if ctx, err = cc.withCallCreds(ctx, method, ci.creds); err != nil {
		return err
	}
	bp, p, err := marshal(cd, req)
	if err != nil {
		return err
	}
	rp := bufpool.Get(0)
	out, err := cc.cc.Invoke(ctx, method, p, (*rp)[:0], &co, ci.header, ci.trailer)
	release(bp, p)
	if err == nil {
		err = unmarshal(cd, out, reply)
	}
	release(rp, out)
	return err
}

// resolve picks the call's codec and the channel's call options.
func (ci *callInfo) resolve() (codec.Codec, channel.CallOptions, error) {
	co := channel.CallOptions{
		Compressor:     ci.compressor,
		MaxRecvMsgSize: ci.maxRecvMsgSize,
		MaxSendMsgSize: ci.maxSendMsgSize,
		WaitForReady:   ci.waitForReady,
		ContentSubtype: ci.contentSubtype,
	}
	cd := ci.codec
	if cd != nil {
		if co.ContentSubtype == "" {
			co.ContentSubtype = strings.ToLower(cd.Name())
		}
		return cd, co, nil
	}
	if cd = codecFor(co.ContentSubtype); cd == nil {
		return nil, co, status.Errorf(codes.Internal, "grpc: no codec registered for content-subtype %s", co.ContentSubtype)
	}
	return cd, co, nil
}
