package otelh2rpc

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The histogram buckets of gRFC A66: latencies in seconds, sizes in bytes.
var (
	LatencyBounds = []float64{0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 2, 5, 10, 20, 50, 100}
	SizeBounds    = []float64{0, 1024, 2048, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824, 4294967296}
)

// clientMetrics are A66's per-attempt and per-call instruments of a client.
type clientMetrics struct {
	attemptStarted metric.Int64Counter
	attemptDur     metric.Float64Histogram
	attemptSent    metric.Int64Histogram
	attemptRcvd    metric.Int64Histogram
	callDur        metric.Float64Histogram
	sets           attrSets
}

// serverMetrics are A66's per-call instruments of a server.
type serverMetrics struct {
	callStarted metric.Int64Counter
	callDur     metric.Float64Histogram
	callSent    metric.Int64Histogram
	callRcvd    metric.Int64Histogram
	sets        attrSets
}

func latency(m metric.Meter, name, desc string) metric.Float64Histogram {
	h, _ := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(LatencyBounds...))
	return h
}

func size(m metric.Meter, name, desc string) metric.Int64Histogram {
	h, _ := m.Int64Histogram(name, metric.WithUnit("By"), metric.WithDescription(desc), metric.WithExplicitBucketBoundaries(SizeBounds...))
	return h
}

func newClientMetrics(mp metric.MeterProvider) *clientMetrics {
	m := mp.Meter(ScopeName)
	cm := &clientMetrics{
		attemptDur:  latency(m, "grpc.client.attempt.duration", "How long each client call attempt took, from its start to its status."),
		attemptSent: size(m, "grpc.client.attempt.sent_total_compressed_message_size", "Bytes of messages a client call attempt sent, as compressed."),
		attemptRcvd: size(m, "grpc.client.attempt.rcvd_total_compressed_message_size", "Bytes of messages a client call attempt received, as compressed."),
		callDur:     latency(m, "grpc.client.call.duration", "How long each client call took, every attempt included, as the application saw it."),
	}
	cm.attemptStarted, _ = m.Int64Counter("grpc.client.attempt.started", metric.WithUnit("{attempt}"), metric.WithDescription("Client call attempts started."))
	return cm
}

func newServerMetrics(mp metric.MeterProvider) *serverMetrics {
	m := mp.Meter(ScopeName)
	sm := &serverMetrics{
		callDur:  latency(m, "grpc.server.call.duration", "How long each server call took, from its headers to its status."),
		callSent: size(m, "grpc.server.call.sent_total_compressed_message_size", "Bytes of messages a server call sent, as compressed."),
		callRcvd: size(m, "grpc.server.call.rcvd_total_compressed_message_size", "Bytes of messages a server call received, as compressed."),
	}
	sm.callStarted, _ = m.Int64Counter("grpc.server.call.started", metric.WithUnit("{call}"), metric.WithDescription("Server calls started."))
	return sm
}

// attrKey names one combination of labels.
type attrKey struct{ method, target, status string }

// attrSets caches the attribute sets of label combinations, so that a call
// records its metrics without building sets. Methods are "other" unless
// generated or registered, and statuses are few, so the cache stays small.
type attrSets struct{ m sync.Map }

func (s *attrSets) get(k attrKey) metric.MeasurementOption {
	if v, ok := s.m.Load(k); ok {
		return v.(metric.MeasurementOption)
	}
	kvs := []attribute.KeyValue{attribute.String("grpc.method", k.method)}
	if k.target != "" {
		kvs = append(kvs, attribute.String("grpc.target", k.target))
	}
	if k.status != "" {
		kvs = append(kvs, attribute.String("grpc.status", k.status))
	}
	o := metric.WithAttributeSet(attribute.NewSet(kvs...))
	v, _ := s.m.LoadOrStore(k, o)
	return v.(metric.MeasurementOption)
}
