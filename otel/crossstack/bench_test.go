package crossstack

import (
	"context"
	"net"
	"testing"

	"github.com/h2rpc/h2rpc/bench/grpcgo"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	otelh2rpc "github.com/h2rpc/h2rpc/otel"
	"github.com/h2rpc/h2rpc/stub"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	grpcinsecure "google.golang.org/grpc/credentials/insecure"
	grpcotel "google.golang.org/grpc/stats/opentelemetry"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// BenchmarkUnaryOTel measures a 1-byte unary call, client and server in
// one process, on each stack without instrumentation ("off"), with A66
// metrics ("metrics": ours, and grpc-go's stats/opentelemetry plugin), and
// with metrics and traces ("traces": ours, and grpc-go's plugin with
// otelgrpc's traces). The cost of instrumentation per call is the
// difference to "off" on the same stack.
func BenchmarkUnaryOTel(b *testing.B) {
	for _, mode := range []string{"off", "metrics", "traces"} {
		b.Run("h2rpc/"+mode, func(b *testing.B) { benchH2RPC(b, mode) })
		b.Run("grpc-go/"+mode, func(b *testing.B) { benchGRPC(b, mode) })
	}
}

func providers(b *testing.B) (*sdkmetric.MeterProvider, *sdktrace.TracerProvider) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	b.Cleanup(func() {
		mp.Shutdown(context.Background())
		tp.Shutdown(context.Background())
	})
	return mp, tp
}

func benchH2RPC(b *testing.B, mode string) {
	mp, tp := providers(b)
	var sopts []stub.ServerOption
	var copts []stub.DialOption
	var h *otelh2rpc.ServerHandler
	if mode != "off" {
		opts := []otelh2rpc.Option{otelh2rpc.WithMeterProvider(mp), otelh2rpc.WithTracerProvider(tp), otelh2rpc.WithPropagators(prop)}
		if mode == "metrics" {
			opts = append(opts, otelh2rpc.WithoutTraces())
		}
		h = otelh2rpc.NewServerHandler(opts...)
		sopts, copts = h.ServerOptions(), otelh2rpc.DialOptions(opts...)
	}
	lis := listenB(b)
	s := stub.NewServer(sopts...)
	s.RegisterService(&grpcgo.H2RPCServiceDesc, grpcgo.Echo{})
	if h != nil {
		h.SetServer(s)
	}
	go s.Serve(lis)
	defer s.Stop()
	cc, err := stub.NewClient(lis.Addr().String(), append(copts, stub.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	in, out := wrapperspb.Bytes([]byte{1}), new(wrapperspb.BytesValue)
	ctx := context.Background()
	static := stub.StaticMethod()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := cc.Invoke(ctx, grpcgo.UnaryMethod, in, out, static); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGRPC(b *testing.B, mode string) {
	mp, tp := providers(b)
	var sopts []grpc.ServerOption
	var copts []grpc.DialOption
	if mode != "off" {
		o := grpcotel.Options{MetricsOptions: grpcotel.MetricsOptions{MeterProvider: mp}}
		sopts, copts = append(sopts, grpcotel.ServerOption(o)), append(copts, grpcotel.DialOption(o))
		if mode == "traces" {
			sopts = append(sopts, grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop), otelgrpc.WithMeterProvider(noopMeter()))))
			copts = append(copts, grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(prop), otelgrpc.WithMeterProvider(noopMeter()))))
		}
	}
	lis := listenB(b)
	s := grpc.NewServer(sopts...)
	s.RegisterService(&grpcgo.GRPCServiceDesc, grpcgo.Echo{})
	go s.Serve(lis)
	defer s.Stop()
	cc, err := grpc.NewClient(lis.Addr().String(), append(copts, grpc.WithTransportCredentials(grpcinsecure.NewCredentials()))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	in, out := wrapperspb.Bytes([]byte{1}), new(wrapperspb.BytesValue)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := cc.Invoke(ctx, grpcgo.UnaryMethod, in, out, grpc.StaticMethod()); err != nil {
			b.Fatal(err)
		}
	}
}

// noopMeter keeps otelgrpc's own (non-A66) metrics out of the traces
// variant, so that it adds traces only.
func noopMeter() metric.MeterProvider { return noop.NewMeterProvider() }

func listenB(b *testing.B) net.Listener {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return lis
}
