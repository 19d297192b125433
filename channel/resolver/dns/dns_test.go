package dns

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/internal/resolvertest"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

var warmOnce sync.Once

// setup starts a DNS server and returns it with the target prefix that
// sends queries to it. It first resolves a name through the pure Go
// resolver outside any bubble, so that package net's process-wide
// resolver state is not made inside one (where a later test's bubble
// could not use it).
func setup(t *testing.T) *dnsServer {
	t.Helper()
	leakcheck.Check(t)
	s := startDNSServer(t)
	warmOnce.Do(func() {
		s.Set("warm.test", "10.9.9.9")
		if _, err := netResolver(s.Addr()).LookupNetIP(context.Background(), "ip", "warm.test"); err != nil {
			t.Fatalf("warm-up lookup: %v", err)
		}
	})
	return s
}

// build builds the dns resolver of target, failing t if it cannot.
func build(t *testing.T, target string) (resolver.Resolver, *resolvertest.ClientConn) {
	t.Helper()
	cc := resolvertest.NewClientConn()
	r, err := resolver.Get(Scheme).Build(resolvertest.Target(t, target), cc, resolver.BuildOptions{})
	if err != nil {
		t.Fatalf("Build(%s): %v", target, err)
	}
	return r, cc
}

// take returns the one event recorded since the last take, once the
// bubble is idle, failing t if there is not exactly one.
func take(t *testing.T, cc *resolvertest.ClientConn, what string) resolvertest.Event {
	t.Helper()
	synctest.Wait()
	ev := cc.Take()
	if len(ev) != 1 {
		t.Fatalf("%s: channel was told %v, want one call", what, ev)
	}
	return ev[0]
}

// next waits, in steps of the bubble's clock, for the next event, failing
// t if none comes within limit.
func next(t *testing.T, cc *resolvertest.ClientConn, limit time.Duration) resolvertest.Event {
	t.Helper()
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		synctest.Wait()
		if ev := cc.Take(); len(ev) > 0 {
			if len(ev) > 1 {
				t.Fatalf("channel was told %v at once, want one call", ev)
			}
			return ev[0]
		}
	}
	t.Fatalf("channel was told nothing in %v", limit)
	return resolvertest.Event{}
}

func none(t *testing.T, cc *resolvertest.ClientConn, what string) {
	t.Helper()
	synctest.Wait()
	if ev := cc.Take(); len(ev) != 0 {
		t.Fatalf("%s: channel was told %v, want nothing", what, ev)
	}
}

// addrs returns e's addresses, sorted, after checking it is a state with
// one endpoint per address.
func addrs(t *testing.T, e resolvertest.Event, what string) []string {
	t.Helper()
	if e.Err != nil {
		t.Fatalf("%s: error %v, want a state", what, e.Err)
	}
	if msg := resolvertest.CheckEndpoints(e.State); msg != "" {
		t.Fatalf("%s: %s", what, msg)
	}
	if e.State.ServiceConfig != nil {
		t.Fatalf("%s: a service config was pushed", what)
	}
	a := resolvertest.Addrs(e.State)
	slices.Sort(a)
	return a
}

func wantAddrs(t *testing.T, e resolvertest.Event, what string, want ...string) {
	t.Helper()
	if got := addrs(t, e, what); !slices.Equal(got, want) {
		t.Fatalf("%s: addresses %q, want %q", what, got, want)
	}
}

func TestSeveralRecords(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1", "10.0.0.2", "10.0.0.3", "2001:db8::1")
	synctest.Test(t, func(t *testing.T) {
		r, cc := build(t, "dns://"+s.Addr()+"/name.test:50051")
		defer r.Close()
		wantAddrs(t, take(t, cc, "Build"), "Build", "10.0.0.1:50051", "10.0.0.2:50051", "10.0.0.3:50051", "[2001:db8::1]:50051")
	})
}

func TestDefaultPort(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	synctest.Test(t, func(t *testing.T) {
		for _, tg := range []string{"dns://" + s.Addr() + "/name.test", "dns://" + s.Addr() + "/NAME.test."} {
			r, cc := build(t, tg)
			wantAddrs(t, take(t, cc, tg), tg, "10.0.0.1:443")
			r.Close()
		}
	})
}

// TestResolveNowAtMostEveryInterval: a change of records is seen only
// after ResolveNow, and no sooner than 30 s after the last resolution;
// once the interval is over, ResolveNow resolves at once.
func TestResolveNowAtMostEveryInterval(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	synctest.Test(t, func(t *testing.T) {
		r, cc := build(t, "dns://"+s.Addr()+"/name.test:1")
		defer r.Close()
		first := take(t, cc, "Build")
		wantAddrs(t, first, "Build", "10.0.0.1:1")
		queries := s.Queries("name.test")

		s.Set("name.test", "10.0.0.2", "10.0.0.3")
		time.Sleep(10 * time.Minute)
		none(t, cc, "without ResolveNow")

		// Past the interval, ResolveNow resolves at once.
		r.ResolveNow(resolver.ResolveNowOptions{})
		e := take(t, cc, "ResolveNow after the interval")
		wantAddrs(t, e, "ResolveNow after the interval", "10.0.0.2:1", "10.0.0.3:1")
		if d := e.At.Sub(first.At); d != 10*time.Minute {
			t.Fatalf("resolved %v after Build, want at once on ResolveNow (10m)", d)
		}

		// Within the interval, ResolveNow waits for its end, and several
		// are one resolution.
		s.Set("name.test", "10.0.0.4")
		time.Sleep(time.Second)
		r.ResolveNow(resolver.ResolveNowOptions{})
		r.ResolveNow(resolver.ResolveNowOptions{})
		time.Sleep(29*time.Second - time.Nanosecond)
		r.ResolveNow(resolver.ResolveNowOptions{})
		none(t, cc, "within the interval")
		time.Sleep(time.Nanosecond)
		e2 := take(t, cc, "at the end of the interval")
		wantAddrs(t, e2, "at the end of the interval", "10.0.0.4:1")
		if d := e2.At.Sub(e.At); d != 30*time.Second {
			t.Fatalf("resolved again %v after the last, want 30s", d)
		}
		time.Sleep(time.Hour)
		none(t, cc, "after the ResolveNow calls were answered")
		// Build, then the two resolutions, each of an A and an AAAA query.
		if got := s.Queries("name.test") - queries; got != 4 {
			t.Fatalf("%d more queries, want 4", got)
		}
	})
}

func TestMinResolutionIntervalSetting(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	synctest.Test(t, func(t *testing.T) {
		SetMinResolutionInterval(5 * time.Second)
		defer SetMinResolutionInterval(defaultMinResolutionInterval)
		r, cc := build(t, "dns://"+s.Addr()+"/name.test:1")
		defer r.Close()
		first := take(t, cc, "Build")
		r.ResolveNow(resolver.ResolveNowOptions{})
		if d := next(t, cc, time.Minute).At.Sub(first.At); d != 5*time.Second {
			t.Fatalf("resolved again after %v, want 5s", d)
		}
	})
}

// TestFailureReportedThenRetried: NXDOMAIN and SERVFAIL are reported, and
// retried with a growing backoff (1.6 s, then 2.56 s, ± 20 %) until the
// name resolves again, without ResolveNow.
func TestFailureReportedThenRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rcode dnsmessage.RCode
		check func(*net.DNSError) bool
	}{
		{"NXDOMAIN", dnsmessage.RCodeNameError, func(e *net.DNSError) bool { return e.IsNotFound }},
		{"SERVFAIL", dnsmessage.RCodeServerFailure, func(e *net.DNSError) bool { return e.IsTemporary }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := setup(t)
			s.Fail("name.test", tc.rcode)
			synctest.Test(t, func(t *testing.T) {
				r, cc := build(t, "dns://"+s.Addr()+"/name.test:1")
				defer r.Close()
				var at []time.Time
				for i := range 3 {
					e := next(t, cc, 5*time.Second)
					var de *net.DNSError
					if !errors.As(e.Err, &de) || !tc.check(de) {
						t.Fatalf("failure %d: %v, want a DNS error of %s", i, e.Err, tc.name)
					}
					if de.Server != s.Addr() {
						t.Fatalf("failure %d: %v, does not name server %s", i, e.Err, s.Addr())
					}
					at = append(at, e.At)
					// The channel asking again cuts no backoff short.
					r.ResolveNow(resolver.ResolveNowOptions{})
				}
				wantGap(t, at[1].Sub(at[0]), 1600*time.Millisecond)
				wantGap(t, at[2].Sub(at[1]), 2560*time.Millisecond)

				s.Set("name.test", "10.0.0.7")
				e := next(t, cc, 5*time.Second)
				wantAddrs(t, e, "recovered", "10.0.0.7:1")
				wantGap(t, e.At.Sub(at[2]), 4096*time.Millisecond)

				// A success resets the backoff and waits for ResolveNow.
				time.Sleep(time.Hour)
				none(t, cc, "after recovering")
			})
		})
	}
}

// wantGap fails t unless got is want give or take the 20 % jitter.
func wantGap(t *testing.T, got, want time.Duration) {
	t.Helper()
	if lo, hi := want*8/10, want*12/10; got < lo || got > hi {
		t.Fatalf("retried after %v, want %v ± 20%%", got, want)
	}
}

// TestRejectedStateRetried: a state the channel rejects is resolved again
// after the backoff, without ResolveNow.
func TestRejectedStateRetried(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	synctest.Test(t, func(t *testing.T) {
		cc := resolvertest.NewClientConn()
		cc.SetUpdateStateError(resolver.ErrBadResolverState)
		r, err := NewBuilder().Build(resolvertest.Target(t, "dns://"+s.Addr()+"/name.test:1"), cc, resolver.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		first := take(t, cc, "Build")
		cc.SetUpdateStateError(nil)
		e := next(t, cc, 5*time.Second)
		wantAddrs(t, e, "retry", "10.0.0.1:1")
		wantGap(t, e.At.Sub(first.At), 1600*time.Millisecond)
		time.Sleep(time.Hour)
		none(t, cc, "accepted")
	})
}

// TestIPLiterals: an IP address resolves to itself, without a query.
func TestIPLiterals(t *testing.T) {
	s := setup(t)
	server := "dns://" + s.Addr() + "/"
	for _, tc := range []struct{ target, addr string }{
		{server + "10.1.2.3:50051", "10.1.2.3:50051"},
		{server + "10.1.2.3", "10.1.2.3:443"},
		{"dns:///[::1]:50051", "[::1]:50051"},
		{"dns:///::1", "[::1]:443"},
		{"dns:///[2001:db8::7]", "[2001:db8::7]:443"},
		{"dns:///[::ffff:10.0.0.1]:8", "[::ffff:10.0.0.1]:8"},
		{"dns:10.0.0.9:1", "10.0.0.9:1"},
	} {
		r, cc := build(t, tc.target)
		r.ResolveNow(resolver.ResolveNowOptions{})
		r.Close()
		ev := cc.Take()
		if len(ev) != 1 {
			t.Fatalf("%s: channel was told %v, want one state", tc.target, ev)
		}
		if got := addrs(t, ev[0], tc.target); !slices.Equal(got, []string{tc.addr}) {
			t.Errorf("%s: addresses %q, want [%q]", tc.target, got, tc.addr)
		}
	}
	if n := s.Queries("10.1.2.3"); n != 0 {
		t.Fatalf("%d queries for an IP address", n)
	}
}

func TestBadTargets(t *testing.T) {
	leakcheck.Check(t)
	for _, tg := range []string{
		"dns:///",
		"dns://127.0.0.1:53/",
		"dns:///name.test:",
		"dns:///name.test:http",
		"dns:///name.test:0",
		"dns:///name.test:65536",
		"dns:///name.test:-1",
		"dns:///a..test",
		"dns:///-a.test",
		"dns:///a_b!.test",
		"dns:///a:b:c",
		"dns:///[::1",
		"dns:///[name.test]x",
		"dns://127.0.0.1:99999/name.test",
		"dns://127.0.0.1:/name.test",
		"dns://user@127.0.0.1/name.test",
	} {
		cc := resolvertest.NewClientConn()
		r, err := NewBuilder().Build(resolvertest.Target(t, tg), cc, resolver.BuildOptions{})
		if err == nil {
			r.Close()
			t.Errorf("%s: Build succeeded", tg)
			continue
		}
		if ev := cc.Take(); len(ev) != 0 {
			t.Errorf("%s: a failed Build pushed %v", tg, ev)
		}
	}
}

// TestCloseStopsLookup: Close returns while a lookup waits for a server
// that does not answer, and nothing is pushed after.
func TestCloseStopsLookup(t *testing.T) {
	s := setup(t)
	s.Drop()
	r, cc := build(t, "dns://"+s.Addr()+"/name.test")
	for s.Queries("name.test") == 0 {
		time.Sleep(time.Millisecond)
	}
	r.Close()
	r.Close()
	if ev := cc.Take(); len(ev) != 0 {
		t.Fatalf("channel was told %v", ev)
	}
}

func TestRegistered(t *testing.T) {
	if b := resolver.Get("dns"); b == nil || b.Scheme() != "dns" {
		t.Fatalf("Get(dns) = %v", b)
	}
}

// TestSystemResolver: a target without a DNS server is resolved by the
// system's resolver, which knows localhost.
func TestSystemResolver(t *testing.T) {
	leakcheck.Check(t)
	r, cc := build(t, "dns:///localhost:50051")
	defer r.Close()
	e, ok := cc.Next(nil)
	if !ok || e.Err != nil {
		t.Fatalf("channel was told %v, want a state", e)
	}
	if got := resolvertest.Addrs(e.State); !slices.Contains(got, "127.0.0.1:50051") {
		t.Fatalf("localhost resolved to %q, want 127.0.0.1:50051 among them", got)
	}
}

// TestConcurrentResolveNowAndClose: ResolveNow from several goroutines,
// racing with Close, neither blocks nor reaches the channel after Close.
func TestConcurrentResolveNowAndClose(t *testing.T) {
	s := setup(t)
	s.Set("name.test", "10.0.0.1")
	synctest.Test(t, func(t *testing.T) {
		SetMinResolutionInterval(0)
		defer SetMinResolutionInterval(defaultMinResolutionInterval)
		r, cc := build(t, "dns://"+s.Addr()+"/name.test:1")
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 50 {
					r.ResolveNow(resolver.ResolveNowOptions{})
					time.Sleep(time.Millisecond)
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		r.Close()
		n := len(cc.Take())
		wg.Wait()
		synctest.Wait()
		if ev := cc.Take(); len(ev) != 0 {
			t.Fatalf("channel was told %v after Close", ev)
		}
		if n < 2 {
			t.Fatalf("%d resolutions before Close, want ResolveNow to have resolved again", n)
		}
	})
}

// TestResolvingTimeout: a lookup that the server never answers fails with
// a timeout once the resolving timeout is over, and is reported.
func TestResolvingTimeout(t *testing.T) {
	s := setup(t)
	s.Drop()
	SetResolvingTimeout(50 * time.Millisecond)
	r, cc := build(t, "dns://"+s.Addr()+"/name.test")
	SetResolvingTimeout(defaultResolvingTimeout)
	defer r.Close()
	e, _ := cc.Next(nil)
	var de *net.DNSError
	if !errors.As(e.Err, &de) || !de.IsTimeout {
		t.Fatalf("channel was told %v, want a DNS timeout", e)
	}
}
