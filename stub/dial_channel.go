package stub

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/resolver"
)

// WithResolvers makes these resolver builders serve their schemes for this
// client only, ahead of those registered with resolver.Register.
func WithResolvers(rs ...resolver.Builder) DialOption {
	return WithChannelOptions(channel.WithResolvers(rs...))
}

// WithDefaultServiceConfig sets the service config (JSON) used while the
// resolver gives none: its loadBalancingConfig chooses the balancer
// (pick_first by default), its methodConfig sets timeouts, waitForReady,
// message size limits and retry or hedging policies per method (gRFC A6),
// and retryThrottling bounds retries across calls. NewClient fails on one
// that does not parse.
func WithDefaultServiceConfig(js string) DialOption {
	return WithChannelOptions(channel.WithDefaultServiceConfig(js))
}

// WithDisableRetry turns off retries and hedging: every call is sent
// once, whatever its method config says (calls the server never processed
// are still sent again transparently).
func WithDisableRetry() DialOption { return WithChannelOptions(channel.WithDisableRetry()) }

// WithDisableServiceConfig ignores the service configs resolvers give.
func WithDisableServiceConfig() DialOption {
	return WithChannelOptions(channel.WithDisableServiceConfig())
}

// WithConnectParams sets the connection backoff and the minimum connect
// timeout of the client's subchannels.
func WithConnectParams(p channel.ConnectParams) DialOption {
	return WithChannelOptions(channel.WithConnectParams(p))
}

// WithInsecure is WithTransportCredentials(insecure.NewCredentials()).
//
// Deprecated: use WithTransportCredentials and insecure.NewCredentials,
// as in grpc-go.
func WithInsecure() DialOption { return WithTransportCredentials(insecure.NewCredentials()) }

// WithBlock makes DialContext return only once the client is READY (or
// its context ends). NewClient ignores it.
//
// Deprecated: as in grpc-go; wait for calls to succeed instead, or use
// WaitForStateChange.
func WithBlock() DialOption { return func(o *dialOptions) { o.block = true } }

// WithReturnConnectionError is WithBlock, and a DialContext whose context
// ends first returns the last connection error with the context's.
//
// Deprecated: as in grpc-go.
func WithReturnConnectionError() DialOption {
	return func(o *dialOptions) { o.block, o.returnConnErr = true, true }
}

// Dial is DialContext with a background context.
//
// Deprecated: use NewClient, as in grpc-go.
func Dial(target string, opts ...DialOption) (*ClientConn, error) {
	return DialContext(context.Background(), target, opts...)
}

// DialContext makes a client as NewClient does, with grpc-go's older
// rules: a target whose scheme has no resolver is dialed as it is
// (passthrough, not dns), the client starts connecting at once, and with
// WithBlock it returns only once READY, or fails when ctx ends first.
//
// Deprecated: use NewClient, as in grpc-go.
func DialContext(ctx context.Context, target string, opts ...DialOption) (*ClientConn, error) {
	var o dialOptions
	for _, opt := range opts {
		opt(&o)
	}
	if u, err := url.Parse(target); err != nil || u.Scheme == "" || resolver.Get(u.Scheme) == nil {
		target = "passthrough:///" + target
	}
	cc, err := NewClient(target, opts...)
	if err != nil {
		return nil, err
	}
	cc.Connect()
	if !o.block {
		return cc, nil
	}
	for {
		s := cc.GetState()
		if s == connectivity.Ready {
			return cc, nil
		}
		if !cc.WaitForStateChange(ctx, s) {
			cc.Close()
			if o.returnConnErr {
				return nil, fmt.Errorf("%w: while connecting in state %v", ctx.Err(), s)
			}
			return nil, ctx.Err()
		}
	}
}

// WithInitialWindowSize sets the receive window of each stream; values
// below 64 KiB are ignored, and a set window stops growing with the
// measured bandwidth, as in grpc-go.
func WithInitialWindowSize(n int32) DialOption {
	return WithChannelOptions(channel.WithInitialWindowSize(n))
}

// WithInitialConnWindowSize sets the receive window of each connection,
// as WithInitialWindowSize does for streams.
func WithInitialConnWindowSize(n int32) DialOption {
	return WithChannelOptions(channel.WithInitialConnWindowSize(n))
}

// WithMaxHeaderListSize sets the largest response header list accepted.
func WithMaxHeaderListSize(n uint32) DialOption {
	return WithChannelOptions(channel.WithMaxHeaderListSize(n))
}

// WithReadBufferSize sets the size of the buffer each read of a
// connection fills (default 32 KiB).
func WithReadBufferSize(n int) DialOption { return WithChannelOptions(channel.WithReadBufferSize(n)) }

// WithWriteBufferSize sets how many bytes may wait to be written before
// senders wait for the connection to drain (default 256 KiB).
func WithWriteBufferSize(n int) DialOption { return WithChannelOptions(channel.WithWriteBufferSize(n)) }

// WithIdleTimeout sets how long a client without calls stays connected
// before it closes its connections and stops resolving until the next
// call (default 30 minutes; zero never idles).
func WithIdleTimeout(d time.Duration) DialOption {
	return WithChannelOptions(channel.WithIdleTimeout(d))
}
