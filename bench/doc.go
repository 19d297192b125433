// Package bench measures h2rpc on the wire: connection memory, round trips
// and throughput, side by side with other HTTP/2 and gRPC stacks; and it is
// the load generator of `h2rpc bench`: Run drives any gRPC server through a
// Transport (h2rpc's client, NewH2Transport, or another stack) in a closed
// or an open loop, records latency in a constant-memory Histogram measured
// from each call's intended start when the loop is open, counts status
// codes, reads wire counters off the connections' bytes (WireCounters) and
// the generator's own CPU time, and reports as ghz's JSON, CSV, a summary
// or a self-contained HTML page (Report).
package bench
