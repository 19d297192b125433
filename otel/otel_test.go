package otelh2rpc_test

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/status"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	otelh2rpc "github.com/h2rpc/h2rpc/otel"
	"github.com/h2rpc/h2rpc/stub"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type echo struct{ pb.UnimplementedEchoServer }

func (echo) Unary(ctx context.Context, in *pb.Request) (*pb.Response, error) {
	if in.GetPayload() == "fail" {
		return nil, status.Error(codes.NotFound, "no such thing")
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil, status.Error(codes.Internal, "the handler's context has no span")
	}
	return &pb.Response{Payload: in.GetPayload()}, nil
}

type stack struct {
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	client pb.EchoClient
	target string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(s.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	opts := []otelh2rpc.Option{otelh2rpc.WithTracerProvider(tp), otelh2rpc.WithMeterProvider(mp)}
	h := otelh2rpc.NewServerHandler(opts...)
	srv := stub.NewServer(h.ServerOptions()...)
	h.SetServer(srv)
	pb.RegisterEchoServer(srv, echo{})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	s.target = lis.Addr().String()
	cc, err := stub.NewClient(s.target, append(otelh2rpc.DialOptions(opts...), stub.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		srv.Stop()
	})
	s.client = pb.NewEchoClient(cc)
	return s
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.Emit()
	}
	return m
}

func TestTraceParentAndChild(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.client.Unary(ctx, &pb.Request{Payload: "x"}, stub.StaticMethod()); err != nil {
		t.Fatal(err)
	}
	_, err := s.client.Unary(ctx, &pb.Request{Payload: "fail"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("err %v", err)
	}
	// The server's span ends after the client has its answer.
	spans := s.spans.GetSpans()
	for deadline := time.Now().Add(5 * time.Second); len(spans) < 4 && time.Now().Before(deadline); spans = s.spans.GetSpans() {
		time.Sleep(5 * time.Millisecond)
	}
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	var client, server []tracetest.SpanStub
	for _, sp := range spans {
		switch sp.SpanKind {
		case trace.SpanKindClient:
			client = append(client, sp)
		case trace.SpanKindServer:
			server = append(server, sp)
		}
	}
	if len(client) != 2 || len(server) != 2 {
		t.Fatalf("%d client spans, %d server spans", len(client), len(server))
	}
	if server[0].SpanContext.TraceID() != client[0].SpanContext.TraceID() {
		server[0], server[1] = server[1], server[0] // they end in either order
	}
	host, port, _ := net.SplitHostPort(s.target)
	for i, want := range []string{"OK", "NOT_FOUND"} {
		c, sv := client[i], server[i]
		if c.Name != "h2rpc.gentest.Echo/Unary" || sv.Name != c.Name {
			t.Errorf("span names %q, %q", c.Name, sv.Name)
		}
		if sv.SpanContext.TraceID() != c.SpanContext.TraceID() || sv.Parent.SpanID() != c.SpanContext.SpanID() || !sv.Parent.IsRemote() {
			t.Errorf("call %d: server span not a child of the client's: %v %v", i, c.SpanContext, sv.Parent)
		}
		ca, sa := attrs(c.Attributes), attrs(sv.Attributes)
		for k, v := range map[string]string{"rpc.system.name": "grpc", "rpc.method": "h2rpc.gentest.Echo/Unary", "rpc.response.status_code": want, "server.address": host, "server.port": port} {
			if ca[k] != v {
				t.Errorf("call %d: client %s = %q, want %q", i, k, ca[k], v)
			}
			if sa[k] != v {
				t.Errorf("call %d: server %s = %q, want %q", i, k, sa[k], v)
			}
		}
	}
	if client[1].Status.Code.String() != "Error" || client[1].Status.Description != "no such thing" || server[1].Status.Code.String() != "Unset" {
		t.Errorf("statuses: client %v, server %v (NOT_FOUND is the client's error only)", client[1].Status, server[1].Status)
	}
}

// point is one data point of a metric, with its labels.
type point struct {
	name, unit, labels string
	count              uint64
	bounds             int
}

func collect(t *testing.T, r *sdkmetric.ManualReader) []point {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var ps []point
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			add := func(set attribute.Set, count uint64, bounds int) {
				var ls []string
				for _, kv := range set.ToSlice() {
					ls = append(ls, string(kv.Key)+"="+kv.Value.Emit())
				}
				ps = append(ps, point{m.Name, m.Unit, strings.Join(ls, ","), count, bounds})
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, uint64(p.Value), 0)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, p.Count, len(p.Bounds))
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					add(p.Attributes, p.Count, len(p.Bounds))
				}
			}
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].name+ps[i].labels < ps[j].name+ps[j].labels })
	return ps
}

func TestMetricsA66(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 {
		if _, err := s.client.Unary(ctx, &pb.Request{Payload: "x"}, stub.StaticMethod()); err != nil {
			t.Fatal(err)
		}
	}
	s.client.Unary(ctx, &pb.Request{Payload: "fail"})
	tg := "grpc.target=" + (&url{s.target}).canonical()
	m := "grpc.method=h2rpc.gentest.Echo/Unary"
	const lat, size = 41, 14
	want := []point{
		{"grpc.client.attempt.duration", "s", m + ",grpc.status=OK," + tg, 2, lat},
		{"grpc.client.attempt.duration", "s", "grpc.method=other,grpc.status=NOT_FOUND," + tg, 1, lat},
		{"grpc.client.attempt.rcvd_total_compressed_message_size", "By", m + ",grpc.status=OK," + tg, 2, size},
		{"grpc.client.attempt.rcvd_total_compressed_message_size", "By", "grpc.method=other,grpc.status=NOT_FOUND," + tg, 1, size},
		{"grpc.client.attempt.sent_total_compressed_message_size", "By", m + ",grpc.status=OK," + tg, 2, size},
		{"grpc.client.attempt.sent_total_compressed_message_size", "By", "grpc.method=other,grpc.status=NOT_FOUND," + tg, 1, size},
		{"grpc.client.attempt.started", "{attempt}", m + "," + tg, 2, 0},
		{"grpc.client.attempt.started", "{attempt}", "grpc.method=other," + tg, 1, 0},
		{"grpc.client.call.duration", "s", m + ",grpc.status=OK," + tg, 2, lat},
		{"grpc.client.call.duration", "s", "grpc.method=other,grpc.status=NOT_FOUND," + tg, 1, lat},
		{"grpc.server.call.duration", "s", m + ",grpc.status=NOT_FOUND", 1, lat},
		{"grpc.server.call.duration", "s", m + ",grpc.status=OK", 2, lat},
		{"grpc.server.call.rcvd_total_compressed_message_size", "By", m + ",grpc.status=NOT_FOUND", 1, size},
		{"grpc.server.call.rcvd_total_compressed_message_size", "By", m + ",grpc.status=OK", 2, size},
		{"grpc.server.call.sent_total_compressed_message_size", "By", m + ",grpc.status=NOT_FOUND", 1, size},
		{"grpc.server.call.sent_total_compressed_message_size", "By", m + ",grpc.status=OK", 2, size},
		{"grpc.server.call.started", "{call}", m, 3, 0},
	}
	sort.Slice(want, func(i, j int) bool { return want[i].name+want[i].labels < want[j].name+want[j].labels })
	// The server's End comes after the client has its answer.
	var got []point
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got = collect(t, s.reader); fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d points, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %d:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
}

type url struct{ s string }

func (u *url) canonical() string { return "dns:///" + u.s }
