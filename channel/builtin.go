package channel

// The resolvers and balancers every channel knows, as in grpc-go.
import (
	_ "github.com/h2rpc/h2rpc/channel/balancer/leastrequest" // least_request_experimental
	_ "github.com/h2rpc/h2rpc/channel/balancer/pickfirst"    // pick_first, the default
	_ "github.com/h2rpc/h2rpc/channel/balancer/roundrobin"   // round_robin
	_ "github.com/h2rpc/h2rpc/channel/resolver/dns"          // dns, the default scheme
	_ "github.com/h2rpc/h2rpc/channel/resolver/passthrough"  // passthrough
	_ "github.com/h2rpc/h2rpc/channel/resolver/unix"         // unix and unix-abstract
)
