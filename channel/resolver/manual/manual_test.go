package manual

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/internal/resolvertest"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

func state(addrs ...string) resolver.State {
	var s resolver.State
	for _, a := range addrs {
		s.Addresses = append(s.Addresses, resolver.Address{Addr: a})
	}
	return s
}

// events renders what a ClientConn was told, for comparison.
func events(cc *resolvertest.ClientConn) []string {
	var out []string
	for _, e := range cc.Take() {
		if e.Err != nil {
			out = append(out, "error "+e.Err.Error())
		} else {
			out = append(out, fmt.Sprint(resolvertest.Addrs(e.State)))
		}
	}
	return out
}

func want(t *testing.T, cc *resolvertest.ClientConn, what string, w ...string) {
	t.Helper()
	if got := events(cc); !slices.Equal(got, w) {
		t.Fatalf("%s: channel was told %q, want %q", what, got, w)
	}
}

func TestInitialStateAtBuild(t *testing.T) {
	leakcheck.Check(t)
	r := NewBuilderWithScheme("test")
	if r.Scheme() != "test" {
		t.Fatalf("Scheme = %q", r.Scheme())
	}
	if r.CC() != nil {
		t.Fatal("CC before Build is not nil")
	}
	got := make(chan error, 1)
	r.UpdateStateCallback = func(err error) { got <- err }
	r.InitialState(state("a:1"))
	cc := resolvertest.NewClientConn()
	rejected := errors.New("rejected")
	cc.SetUpdateStateError(rejected)
	res, err := r.Build(resolvertest.Target(t, "test:///x"), cc, resolver.BuildOptions{})
	if err != nil || res != r {
		t.Fatalf("Build = %v, %v; want the resolver itself", res, err)
	}
	want(t, cc, "Build", "[a:1]")
	if err := <-got; err != rejected {
		t.Fatalf("UpdateStateCallback got %v, want the channel's %v", err, rejected)
	}
	if r.CC() != cc {
		t.Fatal("CC is not the built ClientConn")
	}
	r.Close()
}

func TestUpdateStateBeforeBuildIsInitial(t *testing.T) {
	r := NewBuilderWithScheme("test")
	r.UpdateState(state("a:1"))
	r.UpdateState(state("b:1", "c:1"))
	r.ReportError(errors.New("unseen"))
	cc := resolvertest.NewClientConn()
	r.Build(resolvertest.Target(t, "test:///x"), cc, resolver.BuildOptions{})
	want(t, cc, "Build", "[b:1 c:1]")
	r.Close()
}

func TestBuildWithoutState(t *testing.T) {
	r := NewBuilderWithScheme("test")
	r.UpdateStateCallback = func(error) { t.Error("UpdateStateCallback called without a state") }
	cc := resolvertest.NewClientConn()
	r.Build(resolvertest.Target(t, "test:///x"), cc, resolver.BuildOptions{})
	want(t, cc, "Build")
	r.Close()
}

func TestPushesWhileBuilt(t *testing.T) {
	r := NewBuilderWithScheme("test")
	var cbErrs []error
	r.UpdateStateCallback = func(err error) { cbErrs = append(cbErrs, err) }
	cc := resolvertest.NewClientConn()
	r.Build(resolvertest.Target(t, "test:///x"), cc, resolver.BuildOptions{})
	r.UpdateState(state("a:1"))
	cc.SetUpdateStateError(resolver.ErrBadResolverState)
	r.UpdateState(state())
	r.ReportError(errors.New("lost"))
	want(t, cc, "pushes", "[a:1]", "[]", "error lost")
	if !slices.Equal(cbErrs, []error{nil, resolver.ErrBadResolverState}) {
		t.Fatalf("UpdateStateCallback got %v", cbErrs)
	}
	r.Close()
}

func TestClosedIgnoresThenRebuildGetsLast(t *testing.T) {
	r := NewBuilderWithScheme("test")
	closed := 0
	r.CloseCallback = func() { closed++ }
	cc := resolvertest.NewClientConn()
	r.Build(resolvertest.Target(t, "test:///x"), cc, resolver.BuildOptions{})
	r.Close()
	if closed != 1 {
		t.Fatalf("CloseCallback called %d times, want 1", closed)
	}
	r.UpdateState(state("late:1"))
	r.ReportError(errors.New("late"))
	want(t, cc, "after Close")
	if r.CC() != cc {
		t.Fatal("CC after Close is not the last built ClientConn")
	}
	cc2 := resolvertest.NewClientConn()
	r.Build(resolvertest.Target(t, "test:///x"), cc2, resolver.BuildOptions{})
	want(t, cc2, "rebuild", "[late:1]")
	want(t, cc, "rebuild, old channel")
	r.Close()
}

func TestCallbacks(t *testing.T) {
	r := NewBuilderWithScheme("test")
	cc := resolvertest.NewClientConn()
	tg := resolvertest.Target(t, "test://auth/ep")
	var gotTarget resolver.Target
	var gotCC resolver.ClientConn
	var gotOpts resolver.BuildOptions
	r.BuildCallback = func(t resolver.Target, c resolver.ClientConn, o resolver.BuildOptions) {
		gotTarget, gotCC, gotOpts = t, c, o
	}
	resolveNows := 0
	r.ResolveNowCallback = func(resolver.ResolveNowOptions) { resolveNows++ }
	r.Build(tg, cc, resolver.BuildOptions{Authority: "auth", DisableServiceConfig: true})
	if gotTarget.String() != tg.String() || gotCC != cc || gotOpts.Authority != "auth" || !gotOpts.DisableServiceConfig {
		t.Fatalf("BuildCallback got %v, %v, %+v", gotTarget, gotCC, gotOpts)
	}
	r.ResolveNow(resolver.ResolveNowOptions{})
	r.ResolveNow(resolver.ResolveNowOptions{})
	if resolveNows != 2 {
		t.Fatalf("ResolveNowCallback called %d times, want 2", resolveNows)
	}
	r.Close()
}

func TestNilCallbacks(t *testing.T) {
	r := &Resolver{scheme: "test"}
	r.InitialState(state("a:1"))
	cc := resolvertest.NewClientConn()
	r.Build(resolvertest.Target(t, "test:///x"), cc, resolver.BuildOptions{})
	r.UpdateState(state("b:1"))
	r.ResolveNow(resolver.ResolveNowOptions{})
	r.Close()
	want(t, cc, "nil callbacks", "[a:1]", "[b:1]")
}

func TestRegistered(t *testing.T) {
	r := NewBuilderWithScheme("manual-registered-test")
	resolver.Register(r)
	if resolver.Get("manual-registered-test") != r {
		t.Fatal("the registered resolver is not the one Get returns")
	}
}

// guardedCC fails the test when it is called while its resolver is not
// built.
type guardedCC struct {
	t     *testing.T
	open  atomic.Bool
	calls atomic.Int64
	*resolvertest.ClientConn
}

func (g *guardedCC) UpdateState(s resolver.State) error {
	g.check()
	return nil
}

func (g *guardedCC) ReportError(error) { g.check() }

func (g *guardedCC) check() {
	if !g.open.Load() {
		g.t.Error("the channel was called while the resolver was closed")
	}
	g.calls.Add(1)
}

// TestConcurrentPushes pushes states and errors from several goroutines
// while the resolver is built and closed over and over: no call reaches a
// channel the resolver is not built for, and every Build hands over the
// latest state.
func TestConcurrentPushes(t *testing.T) {
	leakcheck.Check(t)
	r := NewBuilderWithScheme("test")
	g := &guardedCC{t: t, ClientConn: resolvertest.NewClientConn()}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if n%3 == 0 {
					r.ReportError(errors.New("e"))
				} else {
					r.UpdateState(state(fmt.Sprintf("%d:%d", i, n)))
				}
				r.ResolveNow(resolver.ResolveNowOptions{})
			}
		})
	}
	for range 100 {
		g.open.Store(true)
		r.Build(resolvertest.Target(t, "test:///x"), g, resolver.BuildOptions{})
		// Stay built until a pusher has reached the channel.
		for n := g.calls.Load(); g.calls.Load() <= n+1; {
			runtime.Gosched()
		}
		r.Close()
		g.open.Store(false)
	}
	close(stop)
	wg.Wait()
	// The last state pushed is the one the next Build hands over.
	r.UpdateState(state("final:1"))
	cc := resolvertest.NewClientConn()
	r.Build(resolvertest.Target(t, "test:///x"), cc, resolver.BuildOptions{})
	want(t, cc, "final Build", "[final:1]")
	r.Close()
}
