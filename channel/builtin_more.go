package channel

// Policies every channel knows beside grpc-go's.
import (
	_ "github.com/h2rpc/h2rpc/channel/balancer/loadaware" // load_aware
	_ "github.com/h2rpc/h2rpc/channel/balancer/ringhash"  // ring_hash_experimental
)
