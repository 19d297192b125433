package stub

import (
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/keepalive"
	"github.com/h2rpc/h2rpc/stream"
)

// TestServerKeepaliveOptions: NewServer turns the keepalive options into
// the connection configuration with grpc-go's defaults and its raise of a
// short server ping interval to one second.
func TestServerKeepaliveOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ServerOption
		want stream.Config
	}{
		{"defaults", nil, stream.Config{KeepaliveTime: 2 * time.Hour, PingPolicyMinTime: 5 * time.Minute}},
		{"set", []ServerOption{
			KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: time.Minute, MaxConnectionAge: time.Hour, MaxConnectionAgeGrace: time.Second, Time: 3 * time.Minute, Timeout: 4 * time.Second}),
			KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 7 * time.Second, PermitWithoutStream: true}),
		}, stream.Config{KeepaliveTime: 3 * time.Minute, KeepaliveTimeout: 4 * time.Second, MaxConnectionIdle: time.Minute,
			MaxConnectionAge: time.Hour, MaxConnectionAgeGrace: time.Second, PingPolicyMinTime: 7 * time.Second, PingPolicyPermitWithoutStream: true}},
		{"short ping interval raised", []ServerOption{KeepaliveParams(keepalive.ServerParameters{Time: time.Millisecond})},
			stream.Config{KeepaliveTime: time.Second, PingPolicyMinTime: 5 * time.Minute}},
		{"negative passed on to be refused", []ServerOption{
			KeepaliveParams(keepalive.ServerParameters{Time: -time.Second, MaxConnectionAge: -time.Second}),
			KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: -time.Second}),
		}, stream.Config{KeepaliveTime: -time.Second, MaxConnectionAge: -time.Second, PingPolicyMinTime: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewServer(tc.opts...).cfg.Conn
			got := stream.Config{
				KeepaliveTime: c.KeepaliveTime, KeepaliveTimeout: c.KeepaliveTimeout,
				MaxConnectionIdle: c.MaxConnectionIdle, MaxConnectionAge: c.MaxConnectionAge, MaxConnectionAgeGrace: c.MaxConnectionAgeGrace,
				PingPolicyMinTime: c.PingPolicyMinTime, PingPolicyPermitWithoutStream: c.PingPolicyPermitWithoutStream,
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if neg := tc.want.Validate() != nil; (c.Validate() != nil) != neg {
				t.Errorf("Validate() = %v", c.Validate())
			}
		})
	}
}
