package channel

import (
	"time"

	"github.com/h2rpc/h2rpc/channel/keepalive"
)

// minKeepaliveTime is the shortest keepalive interval a client uses: a
// ClientParameters.Time below it is raised to it, as in grpc-go, so that
// servers with the default policy are not flooded.
const minKeepaliveTime = 10 * time.Second

// WithKeepaliveParams makes the connections send keepalive pings as kp
// says (gRFC A8); see keepalive.ClientParameters for the defaults and for
// what is raised or refused. It sets fields of the connection
// configuration, so it must come after WithConnConfig, which replaces it
// whole.
//
// A connection closed by the server with GOAWAY ENHANCE_YOUR_CALM
// "too_many_pings" (stream.GoAwayError.TooManyPings) asks the ClientConn
// to double Time for the connections it makes next.
func WithKeepaliveParams(kp keepalive.ClientParameters) DialOption {
	kp.Time = max(kp.Time, minKeepaliveTime)
	return func(o *dialOptions) {
		o.connCfg.KeepaliveTime = kp.Time
		o.connCfg.KeepaliveTimeout = kp.Timeout
		o.connCfg.KeepalivePermitWithoutStream = kp.PermitWithoutStream
	}
}
