package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stream"
)

// staticResolver serves a test's scheme with the addresses it is given,
// and pushes new ones when the test says so.
type staticResolver struct {
	scheme string
	mu     sync.Mutex
	addrs  []string
	ccs    []resolver.ClientConn
	nows   atomic.Int32 // ResolveNow calls
}

func (r *staticResolver) Scheme() string { return r.scheme }

func (r *staticResolver) Build(_ resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	r.mu.Lock()
	r.ccs = append(r.ccs, cc)
	st := r.stateLocked()
	r.mu.Unlock()
	cc.UpdateState(st)
	return staticHandle{r}, nil
}

func (r *staticResolver) stateLocked() resolver.State {
	var st resolver.State
	for _, a := range r.addrs {
		st.Addresses = append(st.Addresses, resolver.Address{Addr: a})
	}
	return st
}

// set pushes a new address list to every channel using the resolver.
func (r *staticResolver) set(addrs ...string) {
	r.mu.Lock()
	r.addrs = addrs
	st, ccs := r.stateLocked(), r.ccs
	r.mu.Unlock()
	for _, cc := range ccs {
		cc.UpdateState(st)
	}
}

type staticHandle struct{ r *staticResolver }

func (h staticHandle) ResolveNow(resolver.ResolveNowOptions) { h.r.nows.Add(1) }
func (h staticHandle) Close()                                {}

// namedServer is a test server whose echo replies carry its name, so a
// test can tell which server answered.
func namedServer(t *testing.T, name string, delay time.Duration) *testServer {
	return startServer(t, nil, func(ss *ServerStream) {
		if _, err := ss.RecvMsg(nil); err != nil {
			ss.Finish(status.Convert(err))
			return
		}
		if _, err := ss.RecvMsg(nil); err != io.EOF {
			ss.Finish(status.New(codes.Internal, "want one request"))
			return
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-ss.Done():
				return
			}
		}
		ss.SendMsgAndFinish(msg(name), nil)
	})
}

// spread starts n servers and a channel over them with the policy of the
// service config sc; it returns the servers, their addresses and the
// channel.
func spread(t *testing.T, n int, sc string, delays ...time.Duration) ([]*testServer, *staticResolver, *ClientConn) {
	t.Helper()
	leakcheck.Check(t)
	var servers []*testServer
	var addrs []string
	for i := range n {
		var d time.Duration
		if i < len(delays) {
			d = delays[i]
		}
		s := namedServer(t, fmt.Sprint("s", i), d)
		servers = append(servers, s)
		addrs = append(addrs, s.addr())
	}
	r := &staticResolver{scheme: "static", addrs: addrs}
	opts := []DialOption{WithTransportCredentials(insecure.NewCredentials()), WithResolvers(r)}
	if sc != "" {
		opts = append(opts, WithDefaultServiceConfig(sc))
	}
	cc, err := NewClient("static:///test", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return servers, r, cc
}

// callMany runs calls on workers goroutines and counts the replies by
// server name, and the errors by code.
func callMany(t *testing.T, cc *ClientConn, calls, workers int, co *CallOptions) (map[string]int, map[codes.Code]int) {
	t.Helper()
	var mu sync.Mutex
	by := map[string]int{}
	errs := map[codes.Code]int{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var reply []byte
			for next.Add(1) <= int64(calls) {
				var err error
				reply, err = cc.Invoke(bg(), "/a/b", msg("x"), reply, co, nil, nil)
				mu.Lock()
				if err != nil {
					errs[status.Code(err)]++
				} else {
					by[string(reply)]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return by, errs
}

// TestRoundRobinSpreadsEvenly: round_robin over 3 servers sends each a
// third of 100,000 calls, within 2 %.
func TestRoundRobinSpreadsEvenly(t *testing.T) {
	_, _, cc := spread(t, 3, `{"loadBalancingConfig": [{"round_robin": {}}]}`)
	waitReady(t, cc, 3)
	const calls = 100000
	by, errs := callMany(t, cc, calls, 32, nil)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	for i := range 3 {
		name := fmt.Sprint("s", i)
		if got, want := by[name], calls/3; got < want*98/100 || got > want*102/100 {
			t.Errorf("%s answered %d of %d calls; want %d ± 2 %% (%v)", name, got, calls, want, by)
		}
	}
}

// waitReady waits until calls reach n distinct servers, so that all the
// balancer's subchannels are READY.
func waitReady(t *testing.T, cc *ClientConn, n int) {
	t.Helper()
	seen := map[string]bool{}
	deadline := time.Now().Add(5 * time.Second)
	for len(seen) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d servers reached", len(seen), n)
		}
		reply, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
		if err == nil {
			seen[string(reply)] = true
		}
	}
}

// TestPickFirstMovesOn: pick_first sends everything to the first address
// while it lives, and to the next one once its server dies.
func TestPickFirstMovesOn(t *testing.T) {
	servers, _, cc := spread(t, 3, "")
	by, errs := callMany(t, cc, 200, 4, nil)
	if len(errs) != 0 || by["s0"] != 200 {
		t.Fatalf("before: replies %v, errors %v; want all 200 from s0", by, errs)
	}
	servers[0].stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(bg(), time.Second)
		reply, err := cc.Invoke(ctx, "/a/b", msg("x"), nil, &CallOptions{WaitForReady: true}, nil, nil)
		cancel()
		if err == nil && string(reply) == "s1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %q, %v after s0 died", reply, err)
		}
	}
	by, errs = callMany(t, cc, 200, 4, nil)
	if len(errs) != 0 || by["s1"] != 200 {
		t.Fatalf("after: replies %v, errors %v; want all 200 from s1", by, errs)
	}
}

// TestOneOfFourServersStops: 64 concurrent wait-for-ready callers over 4
// servers with round_robin. One server stopped gracefully fails no call;
// one stopped hard fails only the calls it had in flight, which the test
// counts, and the others go on.
func TestOneOfFourServersStops(t *testing.T) {
	for _, graceful := range []bool{true, false} {
		t.Run(fmt.Sprint("graceful=", graceful), func(t *testing.T) {
			servers, _, cc := spread(t, 4, `{"loadBalancingConfig": [{"round_robin": {}}]}`,
				time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond)
			waitReady(t, cc, 4)
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				time.Sleep(200 * time.Millisecond)
				s := servers[0]
				s.ln.Close()
				s.mu.Lock()
				conns := s.conns
				s.mu.Unlock()
				for _, c := range conns {
					if graceful {
						c.Shutdown(bg())
					} else {
						c.Close()
					}
				}
			}()
			by, errs := callMany(t, cc, 20000, 64, &CallOptions{WaitForReady: true})
			<-stopped
			failed := 0
			for code, n := range errs {
				failed += n
				if code != codes.Unavailable {
					t.Errorf("%d calls failed with %v", n, code)
				}
			}
			t.Logf("replies %v, errors %v", by, errs)
			switch {
			case graceful && failed != 0:
				t.Errorf("%d calls failed under a graceful stop", failed)
			case !graceful && failed > 64:
				t.Errorf("%d calls failed; at most the 64 in flight may", failed)
			}
			if by["s1"] == 0 || by["s2"] == 0 || by["s3"] == 0 {
				t.Errorf("the other servers were not all used: %v", by)
			}
		})
	}
}

// TestFailFastAndWaitForReady: while its server cannot be reached, a
// fail-fast call fails UNAVAILABLE with the connection error once the
// channel is in TRANSIENT_FAILURE, and a wait-for-ready call waits until
// its deadline; once the server can be reached it serves them.
func TestFailFastAndWaitForReady(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil, echoHandler)
	var down atomic.Bool
	down.Store(true)
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		if down.Load() {
			return nil, errors.New("server down on purpose")
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	cc := newTestClient(t, "passthrough:///"+s.addr(), WithContextDialer(dialer),
		WithConnectParams(ConnectParams{Backoff: BackoffConfig{BaseDelay: 10 * time.Millisecond, MaxDelay: 20 * time.Millisecond}}))
	_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
	wantCode(t, err, codes.Unavailable)
	if !strings.Contains(err.Error(), "server down on purpose") {
		t.Errorf("fail-fast error %q does not carry the connection error", err)
	}
	if got := cc.GetState(); got != connectivity.TransientFailure {
		t.Errorf("state %v, want TRANSIENT_FAILURE", got)
	}
	ctx, cancel := context.WithTimeout(bg(), 100*time.Millisecond)
	defer cancel()
	_, err = cc.Invoke(ctx, "/a/b", msg("x"), nil, &CallOptions{WaitForReady: true}, nil, nil)
	wantCode(t, err, codes.DeadlineExceeded)

	down.Store(false)
	ctx, cancel = context.WithTimeout(bg(), 5*time.Second)
	defer cancel()
	reply, err := cc.Invoke(ctx, "/a/b", msg("back"), nil, &CallOptions{WaitForReady: true}, nil, nil)
	if err != nil || string(reply) != "back" {
		t.Fatalf("once the server is back: %q, %v", reply, err)
	}
	if got := cc.GetState(); got != connectivity.Ready {
		t.Errorf("state %v, want READY", got)
	}
}

// TestStates: a channel starts IDLE, goes CONNECTING then READY with its
// first call, and SHUTDOWN when closed; WaitForStateChange sees each.
func TestStates(t *testing.T) {
	leakcheck.Check(t)
	s := startServer(t, nil, echoHandler)
	cc, err := NewClient(s.addr(), WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	if got := cc.GetState(); got != connectivity.Idle {
		t.Fatalf("new channel is %v, want IDLE", got)
	}
	ctx, cancel := context.WithTimeout(bg(), 5*time.Second)
	defer cancel()
	cc.Connect()
	for st := cc.GetState(); st != connectivity.Ready; st = cc.GetState() {
		if !cc.WaitForStateChange(ctx, st) {
			t.Fatalf("stuck in %v", st)
		}
	}
	cc.Close()
	if got := cc.GetState(); got != connectivity.Shutdown {
		t.Fatalf("closed channel is %v, want SHUTDOWN", got)
	}
	if _, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil); status.Code(err) != codes.Canceled {
		t.Fatalf("call on a closed channel: %v", err)
	}
}

// TestResolverUpdatesMoveCalls: a new address list from the resolver moves
// the calls to the new servers, and the old subchannels are shut down.
func TestResolverUpdatesMoveCalls(t *testing.T) {
	servers, r, cc := spread(t, 3, `{"loadBalancingConfig": [{"round_robin": {}}]}`)
	r.set(servers[0].addr())
	deadline := time.Now().Add(5 * time.Second)
	for {
		by, errs := callMany(t, cc, 60, 4, nil)
		if len(errs) == 0 && by["s0"] == 60 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls still spread after the update: %v, %v", by, errs)
		}
	}
	r.set(servers[1].addr(), servers[2].addr())
	deadline = time.Now().Add(5 * time.Second)
	for {
		by, errs := callMany(t, cc, 60, 4, nil)
		if len(errs) == 0 && by["s0"] == 0 && by["s1"] > 0 && by["s2"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls not moved to s1 and s2: %v, %v", by, errs)
		}
	}
}

// TestBadServiceConfig: a default service config that does not parse, or
// names no policy that exists, is an error from NewClient.
func TestBadServiceConfig(t *testing.T) {
	for _, sc := range []string{
		`{`,
		`{"loadBalancingConfig": [{"no_such_policy": {}}]}`,
		`{"loadBalancingConfig": [{"round_robin": {}, "pick_first": {}}]}`,
		`{"loadBalancingPolicy": "no_such_policy"}`,
	} {
		if _, err := NewClient("localhost:1", WithTransportCredentials(insecure.NewCredentials()), WithDefaultServiceConfig(sc)); err == nil {
			t.Errorf("NewClient accepted the service config %s", sc)
		}
	}
	if _, err := NewClient("localhost:1", WithTransportCredentials(insecure.NewCredentials()),
		WithDefaultServiceConfig(`{"loadBalancingConfig": [{"no_such_policy": {}}, {"round_robin": {}}]}`)); err != nil {
		t.Errorf("the first supported policy should win: %v", err)
	}
}

// stallProxy forwards TCP to a server until stall is called; then it keeps
// every connection open and forwards nothing more, as a server that hangs
// (or a network that drops everything) would.
type stallProxy struct {
	ln      net.Listener
	stalled atomic.Bool
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *stallProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if p.stalled.Load() {
			continue // swallowed
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// TestKeepaliveFindsSilentServer: a server that stops answering while its
// TCP connection stays open is found out by keepalive within Time +
// Timeout (plus a second); its call fails UNAVAILABLE and new calls go to
// the other server.
func TestKeepaliveFindsSilentServer(t *testing.T) {
	leakcheck.Check(t)
	const kaTime, kaTimeout = 300 * time.Millisecond, 300 * time.Millisecond
	slow := startServer(t, nil, func(ss *ServerStream) {
		<-ss.Done() // holds the call until the connection goes
	})
	other := namedServer(t, "other", 0)
	proxy := newStallProxy(t, slow.addr())
	r := &staticResolver{scheme: "static", addrs: []string{proxy.ln.Addr().String(), other.addr()}}
	cc, err := NewClient("static:///ka", WithTransportCredentials(insecure.NewCredentials()), WithResolvers(r),
		WithDefaultServiceConfig(`{"loadBalancingConfig": [{"round_robin": {}}]}`),
		// Below the 10 s that WithKeepaliveParams allows users, for a
		// fast test.
		WithConnConfig(stream.Config{KeepaliveTime: kaTime, KeepaliveTimeout: kaTimeout, KeepalivePermitWithoutStream: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	// Find a call that lands on the proxied server: it blocks. Until that
	// subchannel is READY, round_robin sends every call to the other.
	var held chan error
	for deadline := time.Now().Add(5 * time.Second); held == nil && time.Now().Before(deadline); {
		ch := make(chan error, 1)
		go func() {
			_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, &CallOptions{WaitForReady: true}, nil, nil)
			ch <- err
		}()
		select {
		case err := <-ch:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(100 * time.Millisecond):
			held = ch
		}
	}
	if held == nil {
		t.Fatal("no call reached the proxied server")
	}
	proxy.stalled.Store(true)
	start := time.Now()
	select {
	case err := <-held:
		wantCode(t, err, codes.Unavailable)
		if took, limit := time.Since(start), kaTime+kaTimeout+time.Second; took > limit {
			t.Errorf("found after %v, want within %v", took, limit)
		}
	case <-time.After(kaTime + kaTimeout + 3*time.Second):
		t.Fatal("the silent server was not found out")
	}
	for range 20 {
		ctx, cancel := context.WithTimeout(bg(), 2*time.Second)
		reply, err := cc.Invoke(ctx, "/a/b", msg("x"), nil, nil, nil, nil)
		cancel()
		if err != nil || string(reply) != "other" {
			t.Fatalf("after: %q, %v; want every call on the other server", reply, err)
		}
	}
}

// TestLeastRequestAvoidsSlowServer: least_request_experimental sends fewer
// calls to a server that takes 20 ms to answer than to two that answer at
// once, as it keeps more calls in flight there.
func TestLeastRequestAvoidsSlowServer(t *testing.T) {
	_, _, cc := spread(t, 3, `{"loadBalancingConfig": [{"least_request_experimental": {"choiceCount": 2}}]}`,
		20*time.Millisecond)
	waitReady(t, cc, 3)
	const calls = 2000
	by, errs := callMany(t, cc, calls, 16, nil)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	t.Logf("slow server: %d of %d calls; the others %d and %d", by["s0"], calls, by["s1"], by["s2"])
	// Round-robin would give it a third of all calls; least-request gives
	// it about an eighth (12 % here, with 16 callers).
	if slow, fast := by["s0"], min(by["s1"], by["s2"]); slow*2 > fast {
		t.Errorf("slow server got %d calls against %d and %d; want under half of the faster ones'", slow, by["s1"], by["s2"])
	}
}
