// Package observability is an example of an h2rpc service seen through
// OpenTelemetry: the greeter server and client of examples/helloworld,
// each with spans (printed, one line each, linked across the call by the
// W3C traceparent header) and gRFC A66 metrics, which the server exports
// in Prometheus' format at /metrics on its own gRPC port (the fallback
// HTTP handler), beside structured logs of every call.
//
// It is a module of its own, so that the core module keeps its two
// dependencies. Run the server, then the client:
//
//	go run ./server --port 50051
//	go run ./client --addr 127.0.0.1:50051
//	curl http://127.0.0.1:50051/metrics
package observability
