package stub_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/stats"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/hpack"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stream"
	"github.com/h2rpc/h2rpc/stub"
	"google.golang.org/protobuf/proto"
)

// recorder is a stats handler that writes down every event, with its sizes.
type recorder struct {
	name  string
	mu    sync.Mutex
	ev    []string
	conns []string
	ended chan struct{} // receives one value per End
}

type tagKey struct{}

func newRecorder(name string) *recorder {
	return &recorder{name: name, ended: make(chan struct{}, 16)}
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.ev = append(r.ev, s)
	r.mu.Unlock()
}

func (r *recorder) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	r.add("Tag " + info.FullMethodName)
	return context.WithValue(ctx, tagKey{}, r.name+info.FullMethodName)
}

func (r *recorder) HandleRPC(ctx context.Context, s stats.RPCStats) {
	if _, ok := ctx.Value(tagKey{}).(string); !ok {
		r.add("untagged")
	}
	var e string
	switch s := s.(type) {
	case *stats.Begin:
		e = fmt.Sprintf("Begin cs=%v ss=%v", s.IsClientStream, s.IsServerStream)
	case *stats.OutHeader:
		e = "OutHeader " + s.FullMethod
	case *stats.InHeader:
		e = "InHeader " + s.FullMethod
		if !s.Client && (s.RemoteAddr == nil || s.LocalAddr == nil) {
			e += " no-addr"
		}
	case *stats.OutPayload:
		e = fmt.Sprintf("OutPayload %d/%d/%d", s.Length, s.CompressedLength, s.WireLength)
	case *stats.InPayload:
		e = fmt.Sprintf("InPayload %d/%d/%d", s.Length, s.CompressedLength, s.WireLength)
	case *stats.InTrailer:
		e = fmt.Sprintf("InTrailer %d", s.WireLength)
	case *stats.OutTrailer:
		e = fmt.Sprintf("OutTrailer %d", s.WireLength)
	case *stats.End:
		e = "End " + status.Code(s.Error).String()
		if s.EndTime.Before(s.BeginTime) {
			e += " bad-times"
		}
	}
	if s.IsClient() != (r.name == "client") {
		e += " wrong-side"
	}
	r.add(e)
	if _, ok := s.(*stats.End); ok {
		r.ended <- struct{}{}
	}
}

func (r *recorder) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	return ctx
}

func (r *recorder) HandleConn(ctx context.Context, s stats.ConnStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch s.(type) {
	case *stats.ConnBegin:
		r.conns = append(r.conns, "ConnBegin")
	case *stats.ConnEnd:
		r.conns = append(r.conns, "ConnEnd")
	}
}

// take waits for n End events and returns the events so far, clearing them.
func (r *recorder) take(t *testing.T, n int) []string {
	t.Helper()
	for range n {
		select {
		case <-r.ended:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no End event; events so far: %v", r.name, r.ev)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.ev
	r.ev = nil
	return ev
}

func wantEvents(t *testing.T, side string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s events:\n  %s\nwant:\n  %s", side, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Sizes of what the tests send and receive.
func reqSize(p string) int  { return proto.Size(&pb.Request{Payload: p}) }
func respSize(p string) int { return proto.Size(&pb.Response{Payload: p}) }
func out(n int) string      { return fmt.Sprintf("OutPayload %d/%d/%d", n, n, n+5) }
func in(n int) string       { return fmt.Sprintf("InPayload %d/%d/%d", n, n, n+5) }

// okTrailer is the size of trailers that carry only grpc-status 0, as
// HTTP/2 counts a header list.
var okTrailer = len("grpc-status") + len("0") + 32

func statsEnv(t *testing.T, extra ...stub.DialOption) (*env, *recorder, *recorder) {
	t.Helper()
	cr, sr := newRecorder("client"), newRecorder("server")
	e := newEnv(t, envConfig{
		sopts: []stub.ServerOption{stub.StatsHandler(sr)},
		copts: append([]stub.DialOption{stub.WithStatsHandler(cr)}, extra...),
	})
	return e, cr, sr
}

func TestStatsEventsUnary(t *testing.T) {
	leakcheck.Check(t)
	e, cr, sr := statsEnv(t)
	const m = pb.Echo_Unary_FullMethodName
	if _, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "hello"}); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "client", cr.take(t, 1), []string{
		"Tag " + m, "Begin cs=false ss=false", "OutHeader " + m, out(reqSize("hello")),
		"InHeader ", in(respSize("hello")), fmt.Sprintf("InTrailer %d", okTrailer), "End OK",
	})
	wantEvents(t, "server", sr.take(t, 1), []string{
		"Tag " + m, "InHeader " + m, "Begin cs=false ss=false", in(reqSize("hello")),
		"OutHeader ", out(respSize("hello")), fmt.Sprintf("OutTrailer %d", okTrailer), "End OK",
	})

	// Failed before headers: a Trailers-Only response, an InTrailer alone.
	_, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "fail:5"})
	wantCode(t, err, codes.NotFound, "failed on purpose")
	ce := cr.take(t, 1)
	se := sr.take(t, 1)
	if len(ce) != 6 || !strings.HasPrefix(ce[4], "InTrailer ") || len(se) != 6 || !strings.HasPrefix(se[4], "OutTrailer ") || ce[4][len("In"):] != se[4][len("Out"):] {
		t.Fatalf("trailers-only: client %v, server %v", ce, se)
	}
	wantEvents(t, "client", append(ce[:4:4], ce[5]), []string{"Tag " + m, "Begin cs=false ss=false", "OutHeader " + m, out(reqSize("fail:5")), "End NotFound"})
	wantEvents(t, "server", append(se[:4:4], se[5]), []string{"Tag " + m, "InHeader " + m, "Begin cs=false ss=false", in(reqSize("fail:5")), "End NotFound"})

	// Gzip: compressed sizes are those on the wire.
	if _, err := e.client.Unary(ctxT(t), &pb.Request{Payload: strings.Repeat("z", 1000)}, stub.UseCompressor("gzip")); err != nil {
		t.Fatal(err)
	}
	ce = cr.take(t, 1)
	sr.take(t, 1)
	var l, c, w int
	if _, err := fmt.Sscanf(ce[3], "OutPayload %d/%d/%d", &l, &c, &w); err != nil || l != reqSize(strings.Repeat("z", 1000)) || c >= l || w != c+5 {
		t.Fatalf("gzip OutPayload = %q", ce[3])
	}
	cr.mu.Lock()
	conns := strings.Join(cr.conns, ",")
	cr.mu.Unlock()
	if conns != "ConnBegin" {
		t.Errorf("client connection events %q, want ConnBegin", conns)
	}
}

func TestStatsEventsStreaming(t *testing.T) {
	leakcheck.Check(t)
	e, cr, sr := statsEnv(t)
	ctx := ctxT(t)

	t.Run("server", func(t *testing.T) {
		const m = pb.Echo_ServerStream_FullMethodName
		req := &pb.Request{Payload: "p", Count: proto.Int32(3)}
		s, err := e.client.ServerStream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := s.Recv(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		wantEvents(t, "client", cr.take(t, 1), []string{
			"Tag " + m, "Begin cs=false ss=true", "OutHeader " + m, out(proto.Size(req)), "InHeader ",
			in(respSize("p0")), in(respSize("p1")), in(respSize("p2")), fmt.Sprintf("InTrailer %d", okTrailer), "End OK",
		})
		wantEvents(t, "server", sr.take(t, 1), []string{
			"Tag " + m, "InHeader " + m, "Begin cs=false ss=false", in(proto.Size(req)), "OutHeader ",
			out(respSize("p0")), out(respSize("p1")), out(respSize("p2")), fmt.Sprintf("OutTrailer %d", okTrailer), "End OK",
		})
	})
	t.Run("client", func(t *testing.T) {
		const m = pb.Echo_ClientStream_FullMethodName
		s, err := e.client.ClientStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"a", "bb"} {
			if err := s.Send(&pb.Request{Payload: p}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.CloseAndRecv(); err != nil {
			t.Fatal(err)
		}
		wantEvents(t, "client", cr.take(t, 1), []string{
			"Tag " + m, "Begin cs=true ss=false", "OutHeader " + m, out(reqSize("a")), out(reqSize("bb")), "InHeader ",
			in(respSize("a+bb")), fmt.Sprintf("InTrailer %d", okTrailer), "End OK",
		})
		wantEvents(t, "server", sr.take(t, 1), []string{
			"Tag " + m, "InHeader " + m, "Begin cs=false ss=false", in(reqSize("a")), in(reqSize("bb")), "OutHeader ",
			out(respSize("a+bb")), fmt.Sprintf("OutTrailer %d", okTrailer), "End OK",
		})
	})
	t.Run("bidi", func(t *testing.T) {
		const m = pb.Echo_Bidi_FullMethodName
		pingPong(t, ctx, e.client, "x", "yy")
		tr := fmt.Sprintf("%d", okTrailer+len("bidi-end")+len("yes")+32)
		wantEvents(t, "client", cr.take(t, 1), []string{
			"Tag " + m, "Begin cs=true ss=true", "OutHeader " + m, out(reqSize("x")), "InHeader ", in(respSize("X")),
			out(reqSize("yy")), in(respSize("YY")), "InTrailer " + tr, "End OK",
		})
		wantEvents(t, "server", sr.take(t, 1), []string{
			"Tag " + m, "InHeader " + m, "Begin cs=false ss=false", in(reqSize("x")), "OutHeader ", out(respSize("X")),
			in(reqSize("yy")), out(respSize("YY")), "OutTrailer " + tr, "End OK",
		})
	})
}

// rawServer serves HTTP/2 streams with h, below gRPC: it answers only what
// h writes, so a test decides when and whether anything comes back.
func rawServer(t *testing.T, h func(*stream.Stream)) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []*stream.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := lis.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, stream.NewServerConn(nc, &stream.Config{}, h))
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
			c.Wait()
		}
	})
	return lis.Addr().String()
}

func TestStatsEventsFailures(t *testing.T) {
	leakcheck.Check(t)
	const m = pb.Echo_Unary_FullMethodName
	reqEvents := []string{"Tag " + m, "Begin cs=false ss=false", "OutHeader " + m, out(reqSize("q"))}
	client := func(t *testing.T, addr string) (pb.EchoClient, *recorder) {
		cr := newRecorder("client")
		cc, err := stub.NewClient(addr, stub.WithTransportCredentials(insecure.NewCredentials()), stub.WithStatsHandler(cr))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		return pb.NewEchoClient(cc), cr
	}
	// hold reads the request and waits for the call's end.
	hold := func(st *stream.Stream) {
		io.Copy(io.Discard, st)
		<-st.Done()
	}

	t.Run("after headers", func(t *testing.T) {
		addr := rawServer(t, func(st *stream.Stream) {
			io.Copy(io.Discard, st)
			st.WriteHeaders([]hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}, false, true)
			st.Reset(frame.ErrCodeInternal)
		})
		c, cr := client(t, addr)
		_, err := c.Unary(ctxT(t), &pb.Request{Payload: "q"})
		wantCode(t, err, codes.Internal, "")
		wantEvents(t, "client", cr.take(t, 1), append(reqEvents, "InHeader ", "End Internal"))
	})
	t.Run("deadline", func(t *testing.T) {
		c, cr := client(t, rawServer(t, hold))
		ctx, cancel := context.WithTimeout(ctxT(t), 50*time.Millisecond)
		defer cancel()
		_, err := c.Unary(ctx, &pb.Request{Payload: "q"})
		wantCode(t, err, codes.DeadlineExceeded, "")
		wantEvents(t, "client", cr.take(t, 1), append(reqEvents, "End DeadlineExceeded"))
	})
	t.Run("cancel", func(t *testing.T) {
		c, cr := client(t, rawServer(t, hold))
		ctx, cancel := context.WithCancel(ctxT(t))
		go func() {
			// Once the request is out.
			for {
				cr.mu.Lock()
				n := len(cr.ev)
				cr.mu.Unlock()
				if n >= len(reqEvents) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err := c.Unary(ctx, &pb.Request{Payload: "q"})
		wantCode(t, err, codes.Canceled, "")
		wantEvents(t, "client", cr.take(t, 1), append(reqEvents, "End Canceled"))
	})
	t.Run("no connection", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close()
		c, cr := client(t, addr)
		_, err = c.Unary(ctxT(t), &pb.Request{Payload: "q"})
		wantCode(t, err, codes.Unavailable, "")
		wantEvents(t, "client", cr.take(t, 1), []string{"Tag " + m, "Begin cs=false ss=false", "End Unavailable"})
	})
	t.Run("server side cancel", func(t *testing.T) {
		e, cr, sr := statsEnv(t)
		ctx, cancel := context.WithCancel(ctxT(t))
		go func() {
			for e.impl.blocked.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err := e.client.Unary(ctx, &pb.Request{Payload: "block"})
		wantCode(t, err, codes.Canceled, "")
		<-e.impl.seen
		wantEvents(t, "client", cr.take(t, 1), []string{"Tag " + m, "Begin cs=false ss=false", "OutHeader " + m, out(reqSize("block")), "End Canceled"})
		wantEvents(t, "server", sr.take(t, 1), []string{"Tag " + m, "InHeader " + m, "Begin cs=false ss=false", in(reqSize("block")), "End Canceled"})
	})
}

// Several handlers each see every event, in the order they were added,
// and the context each got from its own TagRPC (chained).
func TestStatsSeveralHandlers(t *testing.T) {
	leakcheck.Check(t)
	a, b := newRecorder("client"), newRecorder("client")
	e := newEnv(t, envConfig{copts: []stub.DialOption{stub.WithStatsHandler(a), stub.WithStatsHandler(b)}})
	if _, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "x"}, stub.Header(&metadata.MD{})); err != nil {
		t.Fatal(err)
	}
	ea, eb := a.take(t, 1), b.take(t, 1)
	if len(ea) != 8 || strings.Join(ea, ",") != strings.Join(eb, ",") {
		t.Fatalf("handlers saw %v and %v", ea, eb)
	}
}

// A retried call reports each attempt from TagRPC to End, as grpc-go does;
// the server sees each attempt as a call.
func TestStatsRetriedAttempts(t *testing.T) {
	leakcheck.Check(t)
	e, cr, sr := statsEnv(t, stub.WithDefaultServiceConfig(`{"methodConfig": [{"name": [{"service": "h2rpc.gentest.Echo"}], "retryPolicy": {
		"maxAttempts": 3, "initialBackoff": "0.001s", "maxBackoff": "0.001s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`))
	const m = pb.Echo_Unary_FullMethodName
	_, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "fail:14"})
	wantCode(t, err, codes.Unavailable, "failed on purpose (after 3 attempts)")
	ce, se := cr.take(t, 3), sr.take(t, 3)
	if len(ce) != 18 || len(se) != 18 {
		t.Fatalf("client %d events, server %d; want 3 attempts of 6:\n%v\n%v", len(ce), len(se), ce, se)
	}
	for i := range 3 {
		a := ce[6*i : 6*i+6]
		wantEvents(t, fmt.Sprint("client attempt ", i), append(a[:4:4], a[5]), []string{"Tag " + m, "Begin cs=false ss=false", "OutHeader " + m, out(reqSize("fail:14")), "End Unavailable"})
		if !strings.HasPrefix(a[4], "InTrailer ") {
			t.Errorf("attempt %d: %q, want InTrailer", i, a[4])
		}
	}
}

// pingPong makes a bidi call that sends each payload and waits for its
// answer, then ends.
func pingPong(t *testing.T, ctx context.Context, c pb.EchoClient, payloads ...string) {
	t.Helper()
	s, err := c.Bidi(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range payloads {
		if err := s.Send(&pb.Request{Payload: p}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	s.CloseSend()
	if _, err := s.Recv(); err != io.EOF {
		t.Fatal(err)
	}
}
