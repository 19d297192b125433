package otelh2rpc

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/h2rpc/h2rpc/otel"

// Option configures the instrumentation.
type Option func(*config)

type config struct {
	tp      trace.TracerProvider
	mp      metric.MeterProvider
	prop    propagation.TextMapPropagator
	noTrace bool
	noMeter bool
}

// WithTracerProvider sets where spans go (default: the global provider).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets where metrics go (default: the global provider).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// WithPropagators sets how the trace context travels in metadata (default:
// W3C trace context and baggage).
func WithPropagators(p propagation.TextMapPropagator) Option { return func(c *config) { c.prop = p } }

// WithoutTraces turns tracing off, leaving the metrics.
func WithoutTraces() Option { return func(c *config) { c.noTrace = true } }

// WithoutMetrics turns the metrics off, leaving the traces.
func WithoutMetrics() Option { return func(c *config) { c.noMeter = true } }

func newConfig(opts []Option) *config {
	c := &config{}
	for _, o := range opts {
		o(c)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.prop == nil {
		c.prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	return c
}
