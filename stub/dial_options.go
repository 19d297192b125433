package stub

import (
	"context"
	"net"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/keepalive"
)

// DialOption configures a ClientConn.
type DialOption func(*dialOptions)

type dialOptions struct {
	channel       []channel.DialOption
	defaults      []CallOption
	unaryInts     []UnaryClientInterceptor
	streamInts    []StreamClientInterceptor
	block         bool // DialContext waits for READY
	returnConnErr bool // ... and fails with the connection error

	transport credentials.TransportCredentials // WithTransportCredentials
	perRPC    []credentials.PerRPCCredentials  // WithPerRPCCredentials
}

// WithTransportCredentials secures the connection with c; every client
// needs it (insecure.NewCredentials() for h2c).
func WithTransportCredentials(c credentials.TransportCredentials) DialOption {
	return func(o *dialOptions) {
		o.transport = c
		o.channel = append(o.channel, channel.WithTransportCredentials(c))
	}
}

// WithAuthority sets the :authority of the calls (and the TLS server name)
// instead of the target's host.
func WithAuthority(a string) DialOption { return WithChannelOptions(channel.WithAuthority(a)) }

// WithContextDialer makes connections with f instead of net.Dialer.
func WithContextDialer(f func(ctx context.Context, addr string) (net.Conn, error)) DialOption {
	return WithChannelOptions(channel.WithContextDialer(f))
}

// WithUserAgent puts ua before the library's own user agent.
func WithUserAgent(ua string) DialOption { return WithChannelOptions(channel.WithUserAgent(ua)) }

// WithKeepaliveParams makes the client ping its connections as kp says
// (gRFC A8); see keepalive.ClientParameters. Time is raised to at least 10
// seconds, as in grpc-go.
func WithKeepaliveParams(kp keepalive.ClientParameters) DialOption {
	return WithChannelOptions(channel.WithKeepaliveParams(kp))
}

// WithChannelOptions passes options to the channel layer beneath, for what
// stub has no option of its own (connection settings, default compressor).
func WithChannelOptions(opts ...channel.DialOption) DialOption {
	return func(o *dialOptions) { o.channel = append(o.channel, opts...) }
}

// WithDefaultCallOptions applies opts to every call, before the call's own
// options; WithDefaultCallOptions(MaxCallRecvMsgSize(n)) raises the
// receive limit of every call.
func WithDefaultCallOptions(opts ...CallOption) DialOption {
	return func(o *dialOptions) { o.defaults = append(o.defaults, opts...) }
}

// WithUnaryInterceptor sets the unary interceptor; it runs before those of
// WithChainUnaryInterceptor.
func WithUnaryInterceptor(i UnaryClientInterceptor) DialOption {
	return func(o *dialOptions) { o.unaryInts = append([]UnaryClientInterceptor{i}, o.unaryInts...) }
}

// WithChainUnaryInterceptor adds unary interceptors; the first one is the
// outermost.
func WithChainUnaryInterceptor(is ...UnaryClientInterceptor) DialOption {
	return func(o *dialOptions) { o.unaryInts = append(o.unaryInts, is...) }
}

// WithStreamInterceptor sets the stream interceptor; it runs before those of
// WithChainStreamInterceptor.
func WithStreamInterceptor(i StreamClientInterceptor) DialOption {
	return func(o *dialOptions) { o.streamInts = append([]StreamClientInterceptor{i}, o.streamInts...) }
}

// WithChainStreamInterceptor adds stream interceptors; the first one is the
// outermost.
func WithChainStreamInterceptor(is ...StreamClientInterceptor) DialOption {
	return func(o *dialOptions) { o.streamInts = append(o.streamInts, is...) }
}
