package bench

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/interop"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
	"github.com/h2rpc/h2rpc/stub"
)

// serveTest serves impl on a loopback port and returns its address and
// the server.
func serveTest(t *testing.T, impl pb.TestServiceServer) (string, *stub.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := stub.NewServer()
	pb.RegisterTestServiceServer(srv, impl)
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return ln.Addr().String(), srv
}

// unaryWorkload is UnaryCall with the given JSON requests.
func unaryWorkload(t *testing.T, call string, js string) Workload {
	t.Helper()
	files, err := BuiltinFiles()
	if err != nil {
		t.Fatal(err)
	}
	m, err := FindMethod(files, call)
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := EncodeJSON(m.Desc.Input(), []byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return Workload{Method: m.Path, Kind: m.Kind, Requests: reqs, Timeout: 10 * time.Second}
}

func runTest(t *testing.T, addr string, cfg Config, opts H2Options) *Result {
	t.Helper()
	tr, err := NewH2Transport(addr, cfg.Connections, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := Run(context.Background(), tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestClosedLoopCountsEveryCall(t *testing.T) {
	leakcheck.Check(t)
	addr, _ := serveTest(t, interop.NewTestServer())
	wire := new(WireCounters)
	cfg := Config{
		Workload:    unaryWorkload(t, "grpc.testing.TestService/UnaryCall", `{"responseSize": 10, "payload": {"body": "AAAAAAAAAAAAAA=="}}`),
		Concurrency: 8, Connections: 2, Total: 300, Wire: wire,
	}
	res := runTest(t, addr, cfg, H2Options{Wire: wire})
	if res.Count != 300 || res.OK != 300 || res.Codes["OK"] != 300 || len(res.ErrorMessages) != 0 || res.Latency.Count() != 300 {
		t.Fatalf("count %d ok %d codes %v errors %v", res.Count, res.OK, res.Codes, res.ErrorMessages)
	}
	if res.Sent != 300 || res.Received != 300 || res.Elapsed <= 0 || res.Rate() <= 0 {
		t.Fatalf("sent %d received %d elapsed %v", res.Sent, res.Received, res.Elapsed)
	}
	w := res.Wire
	// One HEADERS and one DATA frame per request; response headers,
	// one DATA and trailers per response.
	if w.Conns != 2 || w.FramesOut[0] != 300 || w.FramesOut[1] != 300 || w.FramesIn[0] != 300 || w.FramesIn[1] != 600 {
		t.Fatalf("wire: %d conns, frames out %v in %v", w.Conns, w.FramesOut, w.FramesIn)
	}
	if w.BytesOut == 0 || w.BytesIn == 0 || w.Writes == 0 || w.HPACKRatioOut() <= 1 || w.HPACKRatioIn() <= 1 {
		t.Fatalf("wire: %+v", w)
	}
	if w.StallsOut != 0 || w.StallsIn != 0 {
		t.Fatalf("small calls stalled on flow control: %d out, %d in", w.StallsOut, w.StallsIn)
	}
}

func TestErrorsByCode(t *testing.T) {
	leakcheck.Check(t)
	addr, _ := serveTest(t, interop.NewTestServer())
	// Requests alternate: OK, NOT_FOUND, RESOURCE_EXHAUSTED, OK, ...
	cfg := Config{
		Workload: unaryWorkload(t, "grpc.testing.TestService.UnaryCall",
			`{} {"responseStatus": {"code": 5, "message": "no such thing"}} {"responseStatus": {"code": 8, "message": "slow down"}}`),
		Concurrency: 4, Connections: 1, Total: 90,
	}
	res := runTest(t, addr, cfg, H2Options{})
	want := map[string]uint64{"OK": 30, "NotFound": 30, "ResourceExhausted": 30}
	if len(res.Codes) != len(want) {
		t.Fatalf("codes %v, want %v", res.Codes, want)
	}
	for k, v := range want {
		if res.Codes[k] != v {
			t.Fatalf("codes %v, want %v", res.Codes, want)
		}
	}
	if res.Errors() != 60 || res.ErrorMessages["rpc error: code = NotFound desc = no such thing"] != 30 ||
		res.ErrorMessages["rpc error: code = ResourceExhausted desc = slow down"] != 30 {
		t.Fatalf("errors %d: %v", res.Errors(), res.ErrorMessages)
	}
}

func TestStreamingKinds(t *testing.T) {
	leakcheck.Check(t)
	addr, _ := serveTest(t, interop.NewTestServer())
	files, err := BuiltinFiles()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		call           string
		js             string
		count          int
		sent, received uint64 // per call
	}{
		{"grpc.testing.TestService.StreamingOutputCall", `{"responseParameters": [{"size": 5}, {"size": 6}, {"size": 7}]}`, 0, 1, 3},
		{"grpc.testing.TestService.StreamingInputCall", `{"payload": {"body": "AAA="}}`, 4, 4, 1},
		{"grpc.testing.TestService.FullDuplexCall", `{"responseParameters": [{"size": 3}]} {"responseParameters": [{"size": 4}, {"size": 1}]}`, 0, 2, 3},
	}
	for _, c := range cases {
		m, err := FindMethod(files, c.call)
		if err != nil {
			t.Fatal(err)
		}
		reqs, err := EncodeJSON(m.Desc.Input(), []byte(c.js))
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{
			Workload:    Workload{Method: m.Path, Kind: m.Kind, Requests: reqs, StreamCount: c.count, Timeout: 10 * time.Second},
			Concurrency: 3, Connections: 1, Total: 30,
		}
		res := runTest(t, addr, cfg, H2Options{})
		if res.Count != 30 || res.OK != 30 || res.Sent != 30*c.sent || res.Received != 30*c.received {
			t.Errorf("%s: count %d ok %d sent %d received %d, codes %v %v", c.call, res.Count, res.OK, res.Sent, res.Received, res.Codes, res.ErrorMessages)
		}
	}
}

func TestServerGoneEndsWithPartialResults(t *testing.T) {
	leakcheck.Check(t)
	addr, srv := serveTest(t, interop.NewTestServer())
	cfg := Config{
		Workload:    unaryWorkload(t, "grpc.testing.TestService.UnaryCall", `{}`),
		Concurrency: 4, Connections: 1, Duration: time.Minute,
	}
	time.AfterFunc(300*time.Millisecond, srv.Stop)
	start := time.Now()
	res := runTest(t, addr, cfg, H2Options{})
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the run went on for %v after the server stopped", took)
	}
	if !strings.HasPrefix(res.Stopped, ErrServerGone.Error()+" after ") {
		t.Fatalf("stopped: %q", res.Stopped)
	}
	if res.OK == 0 || res.Count != res.Latency.Count() || res.Codes["Unavailable"] == 0 {
		t.Fatalf("partial results: count %d ok %d codes %v", res.Count, res.OK, res.Codes)
	}
}

func TestOpenLoopKeepsTheRate(t *testing.T) {
	leakcheck.Check(t)
	addr, _ := serveTest(t, interop.NewTestServer())
	cfg := Config{
		Workload:    unaryWorkload(t, "grpc.testing.TestService.EmptyCall", `{}`),
		Concurrency: 4, Connections: 1, Duration: time.Second, Rate: ConstRate(200),
	}
	res := runTest(t, addr, cfg, H2Options{})
	// Every slot of the second is either recorded or counted as dropped.
	if res.Count+res.Dropped != 200 || !res.OpenLoop {
		t.Fatalf("%d calls recorded and %d dropped, want 200 in all", res.Count, res.Dropped)
	}
	if res.OK != res.Count {
		t.Fatalf("codes %v %v", res.Codes, res.ErrorMessages)
	}
}

// inflightServer holds each EmptyCall for a while and records how many
// were in flight at once, in the first window after its first call and
// over all.
type inflightServer struct {
	pb.UnimplementedTestServiceServer
	mu                sync.Mutex
	first             time.Time
	now, early, most  int
	hold, earlyWindow time.Duration
}

func (s *inflightServer) EmptyCall(ctx context.Context, _ *pb.Empty) (*pb.Empty, error) {
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = time.Now()
	}
	s.now++
	s.most = max(s.most, s.now)
	if time.Since(s.first) < s.earlyWindow {
		s.early = max(s.early, s.now)
	}
	s.mu.Unlock()
	time.Sleep(s.hold)
	s.mu.Lock()
	s.now--
	s.mu.Unlock()
	return &pb.Empty{}, nil
}

func TestConcurrencyScheduleAndSkipFirst(t *testing.T) {
	leakcheck.Check(t)
	srv := &inflightServer{hold: 5 * time.Millisecond, earlyWindow: 150 * time.Millisecond}
	addr, _ := serveTest(t, srv)
	cfg := Config{
		Workload:    unaryWorkload(t, "grpc.testing.TestService.EmptyCall", `{}`),
		Concurrency: 8, Connections: 2, Duration: 1200 * time.Millisecond,
		ConcurrencySchedule: &Schedule{Kind: Step, Start: 1, Step: 1, StepDuration: 300 * time.Millisecond, End: 3},
	}
	res := runTest(t, addr, cfg, H2Options{})
	srv.mu.Lock()
	early, most := srv.early, srv.most
	srv.mu.Unlock()
	if early != 1 || most != 3 || res.OK != res.Count || res.Count == 0 {
		t.Fatalf("in flight: %d at first, %d at most (want 1 and 3); %d calls, codes %v", early, most, res.Count, res.Codes)
	}

	cfg = Config{Workload: cfg.Workload, Concurrency: 3, Connections: 1, Total: 50, SkipFirst: 10}
	res = runTest(t, addr, cfg, H2Options{})
	if res.Count != 50 || res.OK != 50 {
		t.Fatalf("-n 50 --skipFirst 10 recorded %d calls, %d OK", res.Count, res.OK)
	}
}
