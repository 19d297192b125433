// Package bench measures h2rpc on the wire: connection memory, round trips
// and throughput, side by side with other HTTP/2 and gRPC stacks.
package bench
