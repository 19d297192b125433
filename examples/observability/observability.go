package observability

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"

	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	otelh2rpc "github.com/h2rpc/h2rpc/otel"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Greeter implements helloworld.GreeterServer.
type Greeter struct {
	pb.UnimplementedGreeterServer
}

// SayHello greets in.Name, and tells the span of the call it was greeted.
func (Greeter) SayHello(ctx context.Context, in *pb.HelloRequest) (*pb.HelloReply, error) {
	trace.SpanFromContext(ctx).AddEvent("greeted")
	return &pb.HelloReply{Message: "Hello " + in.GetName()}, nil
}

// SayHelloStream greets in two messages.
func (Greeter) SayHelloStream(in *pb.HelloRequest, s pb.Greeter_SayHelloStreamServer) error {
	for _, part := range []string{"Hello", in.GetName()} {
		if err := s.Send(&pb.HelloReply{Message: part}); err != nil {
			return err
		}
	}
	return nil
}

// spanPrinter is a span exporter that writes one line per span.
type spanPrinter struct {
	mu sync.Mutex
	w  io.Writer
}

func (p *spanPrinter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range spans {
		fmt.Fprintf(p.w, "span %s kind=%s trace=%s span=%s parent=%s status=%s\n", s.Name(), s.SpanKind(),
			s.SpanContext().TraceID(), s.SpanContext().SpanID(), s.Parent().SpanID(), s.Status().Code)
	}
	return nil
}

func (p *spanPrinter) Shutdown(context.Context) error { return nil }

// Tracing returns a tracer provider that prints every span to w.
func Tracing(w io.Writer) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(sdktrace.WithSyncer(&spanPrinter{w: w}))
}

// Server returns the greeter server with spans printed to w, metrics served
// at /metrics on its port, and a log record per call through l.
func Server(w io.Writer, l *slog.Logger) (*stub.Server, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	h := otelh2rpc.NewServerHandler(
		otelh2rpc.WithTracerProvider(Tracing(w)),
		otelh2rpc.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))),
	)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s := stub.NewServer(append(h.ServerOptions(),
		stub.WithHTTPHandler(mux),
		stub.UnaryInterceptor(stub.UnaryServerLogger(l)),
		stub.StreamInterceptor(stub.StreamServerLogger(l)),
	)...)
	pb.RegisterGreeterServer(s, Greeter{})
	h.SetServer(s)
	return s, nil
}

// DialOptions returns the client's instrumentation: spans printed to w,
// and a log record per call through l.
func DialOptions(w io.Writer, l *slog.Logger) []stub.DialOption {
	return append(otelh2rpc.DialOptions(otelh2rpc.WithTracerProvider(Tracing(w)), otelh2rpc.WithoutMetrics()),
		stub.WithChainUnaryInterceptor(stub.UnaryClientLogger(l)),
		stub.WithChainStreamInterceptor(stub.StreamClientLogger(l)),
	)
}
