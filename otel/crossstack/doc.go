// Package crossstack holds the tests of h2rpc's OpenTelemetry module
// against grpc-go's own instrumentation: otelgrpc's traces across the two
// stacks, and the metrics of grpc-go's gRFC A66 plugin
// (google.golang.org/grpc/stats/opentelemetry) next to ours for the same
// calls. It is a module of its own so that neither h2rpc's core nor its
// otel module depends on grpc-go.
package crossstack
