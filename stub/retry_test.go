package stub_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/manual"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/faultsvc"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stub"
)

// faultServer starts a fault service named name that records into log; it
// returns its address and a function that stops it at once.
func faultServer(t testing.TB, name string, log *faultsvc.Log) (string, func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := stub.NewServer()
	(&faultsvc.Server{Name: name, Log: log}).Register(s)
	done := make(chan struct{})
	go func() { s.Serve(lis); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { s.Stop(); <-done }) }
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}

// faultClient dials addrs through a manual resolver with service config sc
// (round_robin added when it names no policy).
func faultClient(t testing.TB, sc string, addrs []string, opts ...stub.DialOption) *stub.ClientConn {
	t.Helper()
	r := manual.NewBuilderWithScheme("fault")
	var as []resolver.Address
	for _, a := range addrs {
		as = append(as, resolver.Address{Addr: a})
	}
	r.InitialState(resolver.State{Addresses: as})
	if !strings.Contains(sc, "loadBalancing") {
		sc = strings.Replace(sc, "{", `{"loadBalancingConfig": [{"round_robin": {}}], `, 1)
		sc = strings.Replace(sc, ", }", "}", 1)
	}
	opts = append([]stub.DialOption{stub.WithResolvers(r), stub.WithTransportCredentials(insecure.NewCredentials()),
		stub.WithDefaultServiceConfig(sc)}, opts...)
	cc, err := stub.NewClient("fault:///x", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

var callSeq atomic.Int64

// unaryFault makes one call with script and returns its reply, the
// attempts the servers saw, and its error.
func unaryFault(ctx context.Context, cc *stub.ClientConn, log *faultsvc.Log, script string, opts ...stub.CallOption) (string, []faultsvc.Attempt, error) {
	id := fmt.Sprint("u", callSeq.Add(1))
	ctx = metadata.AppendToOutgoingContext(ctx, "fault-id", id, "fault-script", script)
	out := new(wrapperspb.StringValue)
	err := cc.Invoke(ctx, faultsvc.UnaryMethod, wrapperspb.String("x"), out, opts...)
	return out.Value, log.Attempts(id), err
}

func previous(as []faultsvc.Attempt) []string {
	var p []string
	for _, a := range as {
		p = append(p, a.Previous)
	}
	return p
}

const retryUnavailable = `{"methodConfig": [{"name": [{"service": "faultsvc.Fault"}], "retryPolicy": {
	"maxAttempts": %d, "initialBackoff": "0.01s", "maxBackoff": "0.05s", "backoffMultiplier": 2,
	"retryableStatusCodes": ["UNAVAILABLE"]}}]}`

// TestRetryAttempts: the attempt counts, grpc-previous-rpc-attempts values
// and final statuses of gRFC A6's rules, one script each.
func TestRetryAttempts(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	addr, _ := faultServer(t, "s", log)
	retry3 := faultClient(t, fmt.Sprintf(retryUnavailable, 3), []string{addr})
	retry9 := faultClient(t, fmt.Sprintf(retryUnavailable, 9), []string{addr})
	none := faultClient(t, `{}`, []string{addr})
	disabled := faultClient(t, fmt.Sprintf(retryUnavailable, 3), []string{addr}, stub.WithDisableRetry())
	for _, c := range []struct {
		name     string
		cc       *stub.ClientConn
		script   string
		code     codes.Code
		reply    string
		previous []string
	}{
		{"no policy", none, "UNAVAILABLE,OK", codes.Unavailable, "", []string{""}},
		{"retried to success", retry3, "UNAVAILABLE,UNAVAILABLE,OK", codes.OK, "attempt 3", []string{"", "1", "2"}},
		{"attempts exhausted", retry3, "UNAVAILABLE", codes.Unavailable, "", []string{"", "1", "2"}},
		{"maxAttempts capped at 5", retry9, "UNAVAILABLE", codes.Unavailable, "", []string{"", "1", "2", "3", "4"}},
		{"code not retryable", retry3, "INTERNAL,OK", codes.Internal, "", []string{""}},
		{"retryable then not", retry3, "UNAVAILABLE,ABORTED,OK", codes.Aborted, "", []string{"", "1"}},
		{"committed by headers", retry3, "headers;UNAVAILABLE,OK", codes.Unavailable, "", []string{""}},
		{"pushback says stop", retry3, "UNAVAILABLE;pushback=-1,OK", codes.Unavailable, "", []string{""}},
		{"pushback unparseable", retry3, "UNAVAILABLE;pushback=soon,OK", codes.Unavailable, "", []string{""}},
		{"pushback then success", retry3, "UNAVAILABLE;pushback=20,OK", codes.OK, "attempt 2", []string{"", "1"}},
		{"retry disabled", disabled, "UNAVAILABLE,OK", codes.Unavailable, "", []string{""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reply, as, err := unaryFault(ctxT(t), c.cc, log, c.script)
			if status.Code(err) != c.code || reply != c.reply {
				t.Errorf("got %q, %v; want %q, %v", reply, err, c.reply, c.code)
			}
			if p := previous(as); !slices.Equal(p, c.previous) {
				t.Errorf("grpc-previous-rpc-attempts of the attempts: %q, want %q", p, c.previous)
			}
		})
	}
}

// TestRetryTiming: a pushback sets the delay before the next attempt; the
// exponential backoff stays within random(0, min(initial×mult^n, max)).
func TestRetryTiming(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	addr, _ := faultServer(t, "s", log)
	cc := faultClient(t, `{"methodConfig": [{"name": [{}], "retryPolicy": {
		"maxAttempts": 5, "initialBackoff": "0.05s", "maxBackoff": "0.1s", "backoffMultiplier": 4,
		"retryableStatusCodes": ["UNAVAILABLE"]}}]}`, []string{addr})
	_, as, err := unaryFault(ctxT(t), cc, log, "UNAVAILABLE;pushback=300,OK")
	if err != nil || len(as) != 2 {
		t.Fatalf("pushback: %v after %d attempts", err, len(as))
	}
	if gap := as[1].At.Sub(as[0].At); gap < 300*time.Millisecond || gap > 2*time.Second {
		t.Errorf("the attempt after a 300 ms pushback came %v later", gap)
	}
	_, as, err = unaryFault(ctxT(t), cc, log, "UNAVAILABLE")
	if status.Code(err) != codes.Unavailable || len(as) != 5 {
		t.Fatalf("backoff: %v after %d attempts", err, len(as))
	}
	// Backoffs of at most 50, 100, 100, 100 ms, and some slack for a
	// loaded machine.
	limits := []time.Duration{50, 100, 100, 100}
	for i, l := range limits {
		if gap := as[i+1].At.Sub(as[i].At); gap > l*time.Millisecond+time.Second {
			t.Errorf("backoff %d: %v, more than %v ms", i+1, gap, l)
		}
	}
}

// TestRetryDeadlineCoversAttempts: the call's deadline bounds all its
// attempts and backoffs together.
func TestRetryDeadlineCoversAttempts(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	addr, _ := faultServer(t, "s", log)
	cc := faultClient(t, fmt.Sprintf(retryUnavailable, 5), []string{addr})
	ctx, cancel := context.WithTimeout(ctxT(t), 250*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := unaryFault(ctx, cc, log, "delay=100;UNAVAILABLE")
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("got %v, want DEADLINE_EXCEEDED", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the call took %v with a 250 ms deadline", d)
	}
}

// TestMethodConfig: timeout, size limits and name matching (method, then
// service, then default).
func TestMethodConfig(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	addr, _ := faultServer(t, "s", log)
	cc := faultClient(t, `{"methodConfig": [
		{"name": [{"service": "faultsvc.Fault", "method": "Unary"}], "timeout": "0.1s"},
		{"name": [{"service": "faultsvc.Fault"}], "maxRequestMessageBytes": 4},
		{"name": [{}], "timeout": "30s"}]}`, []string{addr})
	start := time.Now()
	_, _, err := unaryFault(ctxT(t), cc, log, "hang")
	if status.Code(err) != codes.DeadlineExceeded || time.Since(start) > 3*time.Second {
		t.Errorf("the method config's 0.1 s timeout: %v after %v", err, time.Since(start))
	}
	// Stream matches the service entry: a 5-byte message is over its
	// limit, and never reaches the server.
	id := "big"
	ctx := metadata.AppendToOutgoingContext(ctxT(t), "fault-id", id, "fault-script", "OK")
	s, err := cc.NewStream(ctx, &stub.StreamDesc{ServerStreams: true, ClientStreams: true}, faultsvc.StreamMethod)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMsg(wrapperspb.String("hello")); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a message over maxRequestMessageBytes: %v", err)
	}
}

// TestRetryThrottling: with maxTokens 10 and tokenRatio 0.5, each failed
// attempt costs a token and retries stop at 5 tokens or fewer; successes
// earn them back.
func TestRetryThrottling(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	addr, _ := faultServer(t, "s", log)
	cc := faultClient(t, fmt.Sprintf(`{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.5}, `+retryUnavailable[1:], 2), []string{addr})
	var got []int
	for range 4 {
		_, as, _ := unaryFault(ctxT(t), cc, log, "UNAVAILABLE")
		got = append(got, len(as))
	}
	// 10 → 9 → 8 (retried), 8 → 7 → 6 (retried), 6 → 5 (throttled), 5 → 4.
	if want := []int{2, 2, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("attempts per call: %v, want %v", got, want)
	}
	// Six successes: 4 → 7; a failure then leaves 6, above 5: retried.
	for range 6 {
		if _, _, err := unaryFault(ctxT(t), cc, log, "OK"); err != nil {
			t.Fatal(err)
		}
	}
	if _, as, _ := unaryFault(ctxT(t), cc, log, "UNAVAILABLE"); len(as) != 2 {
		t.Errorf("after successes restored the tokens, a failure made %d attempts, want 2", len(as))
	}
}

// TestStreamingRetryReplays: a streaming call that fails before its
// headers is retried on a new stream with every message sent so far
// replayed; headers commit it; a full retry buffer commits it.
func TestStreamingRetryReplays(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	addr, _ := faultServer(t, "s", log)
	cc := faultClient(t, fmt.Sprintf(retryUnavailable, 3), []string{addr})
	run := func(script string, opts ...stub.CallOption) (string, []faultsvc.Attempt, error) {
		id := fmt.Sprint("s", callSeq.Add(1))
		ctx := metadata.AppendToOutgoingContext(ctxT(t), "fault-id", id, "fault-script", script)
		s, err := cc.NewStream(ctx, &stub.StreamDesc{ServerStreams: true, ClientStreams: true}, faultsvc.StreamMethod, opts...)
		if err != nil {
			return "", nil, err
		}
		for _, m := range []string{"a", "b", "c"} {
			if err := s.SendMsg(wrapperspb.String(m)); err != nil {
				t.Fatalf("SendMsg: %v", err)
			}
		}
		s.CloseSend()
		out := new(wrapperspb.StringValue)
		err = s.RecvMsg(out)
		for err == nil {
			err = s.RecvMsg(new(wrapperspb.StringValue))
		}
		if err.Error() == "EOF" {
			err = nil
		}
		return out.Value, log.Attempts(id), err
	}
	reply, as, err := run("UNAVAILABLE,UNAVAILABLE,OK")
	if err != nil || reply != "a+b+c" || len(as) != 3 {
		t.Fatalf("got %q, %v after %d attempts; want a+b+c after 3", reply, err, len(as))
	}
	for i, a := range as {
		if !slices.Equal(a.Requests, []string{"a", "b", "c"}) {
			t.Errorf("attempt %d received %q", i+1, a.Requests)
		}
	}
	if p := previous(as); !slices.Equal(p, []string{"", "1", "2"}) {
		t.Errorf("grpc-previous-rpc-attempts: %q", p)
	}
	if _, as, err := run("headers;UNAVAILABLE,OK"); status.Code(err) != codes.Unavailable || len(as) != 1 {
		t.Errorf("failure after headers: %v after %d attempts, want UNAVAILABLE after 1", err, len(as))
	}
	if _, as, err := run("message;UNAVAILABLE,OK"); status.Code(err) != codes.Unavailable || len(as) != 1 {
		t.Errorf("failure after a message: %v after %d attempts, want UNAVAILABLE after 1", err, len(as))
	}
	// Each message is 3 bytes with its prefix... more than 4 in all: the
	// call commits and is not retried.
	if _, as, err := run("UNAVAILABLE,OK", stub.MaxRetryRPCBufferSize(4)); status.Code(err) != codes.Unavailable || len(as) != 1 {
		t.Errorf("past the retry buffer: %v after %d attempts, want UNAVAILABLE after 1", err, len(as))
	}
}

const hedge = `{"methodConfig": [{"name": [{"service": "faultsvc.Fault"}], "hedgingPolicy": {
	"maxAttempts": %d, "hedgingDelay": "%s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}`

// TestHedging: hedges go out after hedgingDelay (all at once for 0), at
// once after a non-fatal failure, each to a different server; the first
// success wins and the others are cancelled; a fatal code ends the call.
func TestHedging(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	var addrs []string
	for i := range 3 {
		a, _ := faultServer(t, fmt.Sprint("s", i), log)
		addrs = append(addrs, a)
	}
	delayed := faultClient(t, fmt.Sprintf(hedge, 3, "0.2s"), addrs)
	allAtOnce := faultClient(t, fmt.Sprintf(hedge, 3, "0s"), addrs)
	slow := faultClient(t, fmt.Sprintf(hedge, 3, "5s"), addrs)
	for _, cc := range []*stub.ClientConn{delayed, allAtOnce, slow} {
		for range 3 { // every subchannel READY
			unaryFault(ctxT(t), cc, log, "OK")
		}
	}

	start := time.Now()
	reply, _, err := unaryFault(ctxT(t), delayed, log, "delay=3000;OK,OK")
	if err != nil || reply != "attempt 2" {
		t.Fatalf("slow first attempt: %q, %v; want the hedge's reply", reply, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 2500*time.Millisecond {
		t.Errorf("the hedge answered after %v; the delay is 200 ms", d)
	}

	_, as, err := unaryFault(ctxT(t), allAtOnce, log, "delay=300;OK")
	if err != nil || len(as) != 3 {
		t.Fatalf("a delay of 0: %v, %d attempts; want 3", err, len(as))
	}
	servers := map[string]bool{}
	for _, a := range as {
		servers[a.Server] = true
	}
	if len(servers) != 3 {
		t.Errorf("three hedges went to %d servers", len(servers))
	}
	if p := previous(as); !slices.Equal(slices.Sorted(slices.Values(p)), []string{"", "1", "2"}) {
		t.Errorf("grpc-previous-rpc-attempts of hedges: %q", p)
	}

	start = time.Now()
	reply, as, err = unaryFault(ctxT(t), slow, log, "UNAVAILABLE,OK")
	if err != nil || reply != "attempt 2" || len(as) != 2 || time.Since(start) > 2*time.Second {
		t.Errorf("non-fatal failure: %q, %v, %d attempts after %v; want the next hedge at once", reply, err, len(as), time.Since(start))
	}
	_, as, err = unaryFault(ctxT(t), slow, log, "INTERNAL,OK")
	if status.Code(err) != codes.Internal || len(as) != 1 {
		t.Errorf("fatal failure: %v after %d attempts; want INTERNAL after 1", err, len(as))
	}
	_, as, err = unaryFault(ctxT(t), allAtOnce, log, "UNAVAILABLE")
	if status.Code(err) != codes.Unavailable || len(as) != 3 {
		t.Errorf("every hedge failing: %v after %d attempts", err, len(as))
	}
}

// TestRetryAcrossServerLoss: four servers behind round_robin with a retry
// policy on UNAVAILABLE; one is stopped under load, and no call fails.
func TestRetryAcrossServerLoss(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	var addrs []string
	var stops []func()
	for i := range 4 {
		a, stop := faultServer(t, fmt.Sprint("s", i), log)
		addrs, stops = append(addrs, a), append(stops, stop)
	}
	cc := faultClient(t, fmt.Sprintf(retryUnavailable, 5), addrs)
	for range 8 {
		unaryFault(ctxT(t), cc, log, "OK")
	}
	var calls, failed atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(time.Second)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				calls.Add(1)
				if _, _, err := unaryFault(ctxT(t), cc, log, "delay=2;OK"); err != nil {
					failed.Add(1)
					t.Errorf("call failed: %v", err)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	stops[2]()
	wg.Wait()
	if failed.Load() != 0 || calls.Load() < 50 {
		t.Errorf("%d of %d calls failed", failed.Load(), calls.Load())
	}
}

// TestBadServiceConfigs: each mistake is a clear error from NewClient.
func TestBadServiceConfigs(t *testing.T) {
	for _, c := range []struct{ sc, want string }{
		{`{"methodConfig": [{"name": [{"service": "s"}], "timeout": 5}]}`, "cannot unmarshal"},
		{`{"methodConfig": [{"name": [{"service": "s"}], "timeout": "5"}]}`, "does not end in s"},
		{`{"methodConfig": [{"name": [{"service": "s"}], "timeout": "-1s"}]}`, "not positive"},
		{`{"methodConfig": [{"name": [{"method": "m"}]}]}`, "no service"},
		{`{"methodConfig": [{"name": [{"service": "s"}]}, {"name": [{"service": "s"}]}]}`, "appears twice"},
		{`{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, "below 2"},
		{`{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": "many", "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, "not an integer"},
		{`{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "-1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, "initialBackoff"},
		{`{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 0, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, "backoffMultiplier"},
		{`{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILBLE"]}}]}`, `unknown status code "UNAVAILBLE"`},
		{`{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": []}}]}`, "at least one code"},
		{`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "-0.5s"}}]}`, "negative"},
		{`{"methodConfig": [{"name": [{}], "hedgingPolicy": {"maxAttempts": 2}, "retryPolicy": {}}]}`, "mutually exclusive"},
		{`{"methodConfig": [{"name": [{}], "maxResponseMessageBytes": -3}]}`, "not a number of bytes"},
		{`{"retryThrottling": {"maxTokens": 0, "tokenRatio": 1}}`, "maxTokens"},
		{`{"retryThrottling": {"maxTokens": 1001, "tokenRatio": 1}}`, "maxTokens"},
		{`{"retryThrottling": {"maxTokens": 10, "tokenRatio": -1}}`, "tokenRatio"},
		{`{"methodConfig": "all"}`, "cannot unmarshal"},
	} {
		_, err := stub.NewClient("passthrough:///x", stub.WithTransportCredentials(insecure.NewCredentials()), stub.WithDefaultServiceConfig(c.sc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.sc, err, c.want)
		}
	}
}

// TestResolverServiceConfig: a service config from the resolver replaces
// the default one; a bad one keeps the config in force (gRFC A21); with
// WithDisableServiceConfig the default one stays.
func TestResolverServiceConfig(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	addr, _ := faultServer(t, "s", log)
	for _, disabled := range []bool{false, true} {
		r := manual.NewBuilderWithScheme("sc")
		opts := []stub.DialOption{stub.WithResolvers(r), stub.WithTransportCredentials(insecure.NewCredentials()),
			stub.WithDefaultServiceConfig(fmt.Sprintf(retryUnavailable, 2))}
		if disabled {
			opts = append(opts, stub.WithDisableServiceConfig())
		}
		cc, err := stub.NewClient("sc:///x", opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		cc.Connect()
		waitFor(t, func() bool { return r.CC() != nil })
		addrs := []resolver.Address{{Addr: addr}}
		r.UpdateState(resolver.State{Addresses: addrs, ServiceConfig: r.CC().ParseServiceConfig(fmt.Sprintf(retryUnavailable, 4))})
		want := 4
		if disabled {
			want = 2
		}
		if _, as, _ := unaryFault(ctxT(t), cc, log, "UNAVAILABLE"); len(as) != want {
			t.Errorf("disabled %v: the resolver's config (4 attempts): %d attempts, want %d", disabled, len(as), want)
		}
		bad := r.CC().ParseServiceConfig(`{"methodConfig": [{"name": [{}], "timeout": "soon"}]}`)
		if bad.Err == nil {
			t.Fatal("a bad config parsed")
		}
		r.UpdateState(resolver.State{Addresses: addrs, ServiceConfig: bad})
		if _, as, _ := unaryFault(ctxT(t), cc, log, "UNAVAILABLE"); len(as) != want {
			t.Errorf("disabled %v: after a bad config: %d attempts, want %d", disabled, len(as), want)
		}
	}
}

// TestHedgingStream: a hedged streaming call sends each hedge with every
// message sent so far replayed, commits to the first attempt whose
// headers arrive, and cancels the others.
func TestHedgingStream(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	var addrs []string
	for i := range 3 {
		a, _ := faultServer(t, fmt.Sprint("s", i), log)
		addrs = append(addrs, a)
	}
	delayed := faultClient(t, fmt.Sprintf(hedge, 3, "0.2s"), addrs)
	allAtOnce := faultClient(t, fmt.Sprintf(hedge, 3, "0s"), addrs)
	slow := faultClient(t, fmt.Sprintf(hedge, 3, "5s"), addrs)
	for _, cc := range []*stub.ClientConn{delayed, allAtOnce, slow} {
		for range 3 {
			unaryFault(ctxT(t), cc, log, "OK")
		}
	}
	run := func(cc *stub.ClientConn, script string) (string, []faultsvc.Attempt, error) {
		id := fmt.Sprint("hs", callSeq.Add(1))
		ctx := metadata.AppendToOutgoingContext(ctxT(t), "fault-id", id, "fault-script", script)
		s, err := cc.NewStream(ctx, &stub.StreamDesc{ServerStreams: true, ClientStreams: true}, faultsvc.StreamMethod)
		if err != nil {
			return "", nil, err
		}
		for _, m := range []string{"a", "b"} {
			if err := s.SendMsg(wrapperspb.String(m)); err != nil {
				t.Fatalf("SendMsg: %v", err)
			}
		}
		time.Sleep(30 * time.Millisecond) // messages sent before and after a hedge
		if err := s.SendMsg(wrapperspb.String("c")); err != nil {
			t.Fatalf("SendMsg: %v", err)
		}
		s.CloseSend()
		out := new(wrapperspb.StringValue)
		err = s.RecvMsg(out)
		for err == nil {
			err = s.RecvMsg(new(wrapperspb.StringValue))
		}
		if err.Error() == "EOF" {
			err = nil
		}
		return out.Value, log.Attempts(id), err
	}
	start := time.Now()
	reply, as, err := run(delayed, "delay=3000;OK,OK")
	if err != nil || reply != "a+b+c" || time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("slow first attempt: %q, %v after %v; want the hedge's a+b+c", reply, err, time.Since(start))
	}
	if len(as) < 2 || !slices.Equal(as[1].Requests, []string{"a", "b", "c"}) {
		t.Errorf("the hedge received %v", as)
	}
	_, as, err = run(allAtOnce, "delay=200;OK")
	servers := map[string]bool{}
	for _, a := range as {
		servers[a.Server] = true
	}
	if err != nil || len(as) != 3 || len(servers) != 3 {
		t.Errorf("a delay of 0: %v, %d attempts on %d servers; want 3 on 3", err, len(as), len(servers))
	}
	start = time.Now()
	reply, as, err = run(slow, "UNAVAILABLE,OK")
	if err != nil || reply != "a+b+c" || len(as) != 2 || time.Since(start) > 2*time.Second {
		t.Errorf("non-fatal failure: %q, %v, %d attempts after %v", reply, err, len(as), time.Since(start))
	}
	if _, as, err = run(slow, "INTERNAL,OK"); status.Code(err) != codes.Internal || len(as) != 1 {
		t.Errorf("fatal failure: %v after %d attempts", err, len(as))
	}
	if _, as, err = run(allAtOnce, "UNAVAILABLE"); status.Code(err) != codes.Unavailable || len(as) != 3 {
		t.Errorf("every hedge failing: %v after %d attempts", err, len(as))
	}
}
