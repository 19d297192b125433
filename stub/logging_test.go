package stub_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/keepalive"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
	"golang.org/x/net/http2"
	"google.golang.org/protobuf/proto"
)

// logSink collects JSON log records.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// records returns the records so far whose message is msg.
func (s *logSink) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad record %q: %v", line, err)
		}
		if r["msg"] == msg {
			delete(r, "time")
			out = append(out, r)
		}
	}
	return out
}

func (s *logSink) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestLoggingInterceptors(t *testing.T) {
	leakcheck.Check(t)
	var sink logSink
	l := sink.logger()
	e := newEnv(t, envConfig{
		sopts: []stub.ServerOption{stub.UnaryInterceptor(stub.UnaryServerLogger(l)), stub.StreamInterceptor(stub.StreamServerLogger(l))},
		copts: []stub.DialOption{stub.WithUnaryInterceptor(stub.UnaryClientLogger(l)), stub.WithStreamInterceptor(stub.StreamClientLogger(l))},
	})
	ctx := ctxT(t)
	if _, err := e.client.Unary(ctx, &pb.Request{Payload: "hi"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.Unary(ctx, &pb.Request{Payload: "fail:5"})
	wantCode(t, err, codes.NotFound, "")
	pingPong(t, ctx, e.client, "a", "bc")
	waitFor(t, func() bool { return len(sink.records(t, "h2rpc: call ended")) == 6 })
	n := func(m proto.Message) float64 { return float64(proto.Size(m)) }
	type want struct {
		side, method, code, level string
		sent, sentB, rcvd, rcvdB  float64
	}
	wants := map[string]want{}
	for _, w := range []want{
		{"client", pb.Echo_Unary_FullMethodName, "OK", "INFO", 1, n(&pb.Request{Payload: "hi"}), 1, n(&pb.Response{Payload: "hi"})},
		{"server", pb.Echo_Unary_FullMethodName, "OK", "INFO", 1, n(&pb.Response{Payload: "hi"}), 1, n(&pb.Request{Payload: "hi"})},
		{"client", pb.Echo_Unary_FullMethodName, "NotFound", "WARN", 1, n(&pb.Request{Payload: "fail:5"}), 0, 0},
		{"server", pb.Echo_Unary_FullMethodName, "NotFound", "WARN", 0, 0, 1, n(&pb.Request{Payload: "fail:5"})},
		{"client", pb.Echo_Bidi_FullMethodName, "OK", "INFO", 2, n(&pb.Request{Payload: "a"}) + n(&pb.Request{Payload: "bc"}), 2, n(&pb.Response{Payload: "A"}) + n(&pb.Response{Payload: "BC"})},
		{"server", pb.Echo_Bidi_FullMethodName, "OK", "INFO", 2, n(&pb.Response{Payload: "A"}) + n(&pb.Response{Payload: "BC"}), 2, n(&pb.Request{Payload: "a"}) + n(&pb.Request{Payload: "bc"})},
	} {
		wants[w.side+w.method+w.code] = w
	}
	for _, r := range sink.records(t, "h2rpc: call ended") {
		k := r["side"].(string) + r["method"].(string) + r["code"].(string)
		w, ok := wants[k]
		if !ok {
			t.Errorf("unexpected record %v", r)
			continue
		}
		delete(wants, k)
		if r["level"] != w.level || r["sent_msgs"] != w.sent || r["sent_bytes"] != w.sentB || r["rcvd_msgs"] != w.rcvd || r["rcvd_bytes"] != w.rcvdB {
			t.Errorf("record %v, want %+v", r, w)
		}
		if d, _ := r["duration"].(float64); d <= 0 {
			t.Errorf("record %v: no duration", r)
		}
		if p, _ := r["peer"].(string); (w.side == "server" && !strings.HasPrefix(p, "127.0.0.1:")) || (w.side == "client" && p != e.addr) {
			t.Errorf("record %v: peer %q", r, p)
		}
	}
	for _, w := range wants {
		t.Errorf("no record for %+v", w)
	}
}

// The library's logger is silent until set, then tells of connections
// that fail, GOAWAYs and keepalive strikes.
func TestLibraryLogger(t *testing.T) {
	leakcheck.Check(t)
	var sink logSink
	stub.SetLogger(sink.logger())
	defer stub.SetLogger(nil)

	t.Run("connect", func(t *testing.T) {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := lis.Addr().String()
		lis.Close()
		cc, err := stub.NewClient(addr, stub.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		_, err = pb.NewEchoClient(cc).Unary(ctxT(t), &pb.Request{})
		wantCode(t, err, codes.Unavailable, "")
		rs := sink.records(t, "h2rpc: connecting failed")
		if len(rs) == 0 || rs[0]["addr"] != addr || rs[0]["level"] != "WARN" || rs[0]["failures"] != 1.0 {
			t.Fatalf("records %v", rs)
		}
	})
	t.Run("goaway", func(t *testing.T) {
		e := newEnv(t, envConfig{noClean: true})
		if _, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
			t.Fatal(err)
		}
		e.srv.GracefulStop()
		<-e.served
		waitFor(t, func() bool { return len(sink.records(t, "h2rpc: GOAWAY received")) > 0 })
		e.cc.Close()
		r := sink.records(t, "h2rpc: GOAWAY received")[0]
		if r["role"] != "client" || r["code"] != "NO_ERROR" || r["level"] != "INFO" || r["remote"] != e.addr {
			t.Fatalf("record %v", r)
		}
	})
	t.Run("keepalive strikes", func(t *testing.T) {
		e := newEnv(t, envConfig{sopts: []stub.ServerOption{stub.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Hour, PermitWithoutStream: true})}})
		nc, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		io.WriteString(nc, http2.ClientPreface)
		fr := http2.NewFramer(nc, nc)
		fr.WriteSettings()
		for i := range 4 {
			fr.WritePing(false, [8]byte{byte(i)})
		}
		// The server ends the connection on the strike too many.
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, nc)
		waitFor(t, func() bool { return len(sink.records(t, "h2rpc: connection failed")) > 0 })
		strikes := sink.records(t, "h2rpc: keepalive ping strike")
		if len(strikes) < 2 || strikes[0]["strikes"] != 1.0 || strikes[1]["strikes"] != 2.0 || strikes[0]["level"] != "WARN" {
			t.Fatalf("strikes %v", strikes)
		}
		f := sink.records(t, "h2rpc: connection failed")[0]
		if f["role"] != "server" || !strings.Contains(f["err"].(string), "too_many_pings") {
			t.Fatalf("record %v", f)
		}
	})
}
