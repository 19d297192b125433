package crossstack

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/bench/grpcgo"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	otelh2rpc "github.com/h2rpc/h2rpc/otel"
	"github.com/h2rpc/h2rpc/stub"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	grpcinsecure "google.golang.org/grpc/credentials/insecure"
	grpcotel "google.golang.org/grpc/stats/opentelemetry"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var prop = propagation.TraceContext{}

func listen(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// grpcServer serves the bench service with grpc-go and opts.
func grpcServer(t *testing.T, opts ...grpc.ServerOption) string {
	lis := listen(t)
	s := grpc.NewServer(opts...)
	s.RegisterService(&grpcgo.GRPCServiceDesc, grpcgo.Echo{})
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// h2rpcServer serves the bench service with h2rpc and our handler.
func h2rpcServer(t *testing.T, opts ...otelh2rpc.Option) string {
	lis := listen(t)
	h := otelh2rpc.NewServerHandler(opts...)
	s := stub.NewServer(h.ServerOptions()...)
	s.RegisterService(&grpcgo.H2RPCServiceDesc, grpcgo.Echo{})
	h.SetServer(s)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func grpcCall(t *testing.T, addr string, payload []byte, opts ...grpc.DialOption) error {
	cc, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(grpcinsecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cc.Invoke(ctx, grpcgo.UnaryMethod, wrapperspb.Bytes(payload), new(wrapperspb.BytesValue), grpc.StaticMethod())
}

func h2rpcCall(t *testing.T, addr string, payload []byte, opts ...stub.DialOption) error {
	cc, err := stub.NewClient(addr, append(opts, stub.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cc.Invoke(ctx, grpcgo.UnaryMethod, wrapperspb.Bytes(payload), new(wrapperspb.BytesValue), stub.StaticMethod())
}

// spans waits for n spans in e.
func spans(t *testing.T, e *tracetest.InMemoryExporter, n int) tracetest.SpanStubs {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if s := e.GetSpans(); len(s) >= n {
			return s
		}
	}
	t.Fatalf("fewer than %d spans: %v", n, e.GetSpans())
	return nil
}

func byKind(t *testing.T, ss tracetest.SpanStubs, k trace.SpanKind) tracetest.SpanStub {
	t.Helper()
	for _, s := range ss {
		if s.SpanKind == k {
			return s
		}
	}
	t.Fatalf("no %v span in %v", k, ss)
	return tracetest.SpanStub{}
}

// attrs writes a span's attributes in order, the port left out (each
// server has its own).
func attrs(s tracetest.SpanStub) string {
	var kv []string
	for _, a := range s.Attributes {
		if a.Key == "server.port" {
			continue
		}
		kv = append(kv, string(a.Key)+"="+a.Value.Emit())
	}
	sort.Strings(kv)
	return strings.Join(kv, " ")
}

func checkLinked(t *testing.T, client, server tracetest.SpanStub) {
	t.Helper()
	if client.SpanContext.TraceID() != server.SpanContext.TraceID() || server.Parent.SpanID() != client.SpanContext.SpanID() || !server.Parent.IsRemote() {
		t.Errorf("server span %v is not the child of client span %v", server.Parent, client.SpanContext)
	}
	if client.Name != server.Name || client.Name != strings.TrimPrefix(grpcgo.UnaryMethod, "/") {
		t.Errorf("span names %q and %q", client.Name, server.Name)
	}
}

// reference records the spans of a call between two grpc-go peers
// instrumented with otelgrpc: what the conventions look like there.
func reference(t *testing.T) (client, server tracetest.SpanStub) {
	e := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(e))
	addr := grpcServer(t, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop))))
	if err := grpcCall(t, addr, []byte("ref"), grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop)))); err != nil {
		t.Fatal(err)
	}
	ss := spans(t, e, 2)
	return byKind(t, ss, trace.SpanKindClient), byKind(t, ss, trace.SpanKindServer)
}

func TestTraceGRPCGoClientH2RPCServer(t *testing.T) {
	refClient, refServer := reference(t)
	e := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(e))
	addr := h2rpcServer(t, otelh2rpc.WithTracerProvider(tp), otelh2rpc.WithPropagators(prop), otelh2rpc.WithoutMetrics())
	if err := grpcCall(t, addr, []byte("x"), grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop)))); err != nil {
		t.Fatal(err)
	}
	ss := spans(t, e, 2)
	client, server := byKind(t, ss, trace.SpanKindClient), byKind(t, ss, trace.SpanKindServer)
	checkLinked(t, client, server)
	if got, want := attrs(server), attrs(refServer); got != want {
		t.Errorf("h2rpc server span attributes\n  %s\nwant (otelgrpc's)\n  %s", got, want)
	}
	if got, want := attrs(client), attrs(refClient); got != want {
		t.Errorf("otelgrpc client span attributes changed with the server:\n  %s\nvs\n  %s", got, want)
	}
}

func TestTraceH2RPCClientGRPCGoServer(t *testing.T) {
	refClient, _ := reference(t)
	e := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(e))
	addr := grpcServer(t, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop))))
	if err := h2rpcCall(t, addr, []byte("x"), otelh2rpc.DialOptions(otelh2rpc.WithTracerProvider(tp), otelh2rpc.WithPropagators(prop), otelh2rpc.WithoutMetrics())...); err != nil {
		t.Fatal(err)
	}
	ss := spans(t, e, 2)
	client, server := byKind(t, ss, trace.SpanKindClient), byKind(t, ss, trace.SpanKindServer)
	checkLinked(t, client, server)
	// otelgrpc's client takes server.address from the dial target when its
	// interceptors run; with the stats handler alone (as here) from the
	// connection's remote address: the same host for these targets.
	if got, want := attrs(client), attrs(refClient); got != want {
		t.Errorf("h2rpc client span attributes\n  %s\nwant (otelgrpc's)\n  %s", got, want)
	}
}

// point is one data point of a metric: name, unit, labels (the target's
// address written as TARGET), histogram bounds and count.
type point struct {
	name, unit, labels, bounds string
	count                      uint64
	sizes                      string // a size histogram's buckets and sum
}

func collect(t *testing.T, r *sdkmetric.ManualReader, addr string) []point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var ps []point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			add := func(set attribute.Set, count uint64, bounds []float64) *point {
				var ls []string
				for _, kv := range set.ToSlice() {
					ls = append(ls, string(kv.Key)+"="+strings.ReplaceAll(kv.Value.Emit(), addr, "TARGET"))
				}
				ps = append(ps, point{m.Name, m.Unit, strings.Join(ls, ","), fmt.Sprint(bounds), count, ""})
				return &ps[len(ps)-1]
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, uint64(p.Value), nil)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, p.Count, p.Bounds)
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, p.Count, p.Bounds).sizes = fmt.Sprint(p.BucketCounts, p.Sum)
				}
			}
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].name+ps[i].labels < ps[j].name+ps[j].labels })
	return ps
}

// calls makes the same calls on either stack: two that succeed, one whose
// message is too large for the server (RESOURCE_EXHAUSTED).
const bigPayload = 5 << 20

func TestMetricsSameAsGRPCGo(t *testing.T) {
	run := func(t *testing.T, h2rpcStack bool) []point {
		r := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
		var addr string
		call := func(p []byte) error { return nil }
		if h2rpcStack {
			opts := []otelh2rpc.Option{otelh2rpc.WithMeterProvider(mp), otelh2rpc.WithoutTraces()}
			addr = h2rpcServer(t, opts...)
			call = func(p []byte) error { return h2rpcCall(t, addr, p, otelh2rpc.DialOptions(opts...)...) }
		} else {
			o := grpcotel.Options{MetricsOptions: grpcotel.MetricsOptions{MeterProvider: mp}}
			addr = grpcServer(t, grpcotel.ServerOption(o))
			call = func(p []byte) error { return grpcCall(t, addr, p, grpcotel.DialOption(o)) }
		}
		for _, p := range [][]byte{[]byte("a"), make([]byte, 3000)} {
			if err := call(p); err != nil {
				t.Fatal(err)
			}
		}
		if err := call(make([]byte, bigPayload)); err == nil {
			t.Fatal("a message over the server's limit went through")
		}
		// The server records a call's end after the client has its answer.
		var got []point
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			got = collect(t, r, addr)
			n := uint64(0)
			for _, p := range got {
				if p.name == "grpc.server.call.duration" {
					n += p.count
				}
			}
			if n == 3 {
				break
			}
		}
		return got
	}
	want := run(t, false)
	got := run(t, true)
	if len(want) == 0 {
		t.Fatal("grpc-go recorded nothing")
	}
	g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want)
	if g != w {
		t.Errorf("h2rpc's metrics:\n  %s\ngrpc-go's:\n  %s", strings.ReplaceAll(g, "} {", "}\n  {"), strings.ReplaceAll(w, "} {", "}\n  {"))
	}
}
