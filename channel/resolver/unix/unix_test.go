package unix

import (
	"net"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/internal/resolvertest"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

// resolve builds the registered resolver of s's scheme and returns the one
// address it pushed.
func resolve(t *testing.T, s string) resolver.Address {
	t.Helper()
	tg := resolvertest.Target(t, s)
	b := resolver.Get(tg.URL.Scheme)
	if b == nil {
		t.Fatalf("no builder registered for %q", tg.URL.Scheme)
	}
	cc := resolvertest.NewClientConn()
	r, err := b.Build(tg, cc, resolver.BuildOptions{})
	if err != nil {
		t.Fatalf("%s: Build: %v", s, err)
	}
	r.ResolveNow(resolver.ResolveNowOptions{})
	r.Close()
	ev := cc.Take()
	if len(ev) != 1 || ev[0].Err != nil || len(ev[0].State.Addresses) != 1 {
		t.Fatalf("%s: pushed %v, want one state of one address", s, ev)
	}
	if msg := resolvertest.CheckEndpoints(ev[0].State); msg != "" {
		t.Errorf("%s: %s", s, msg)
	}
	return ev[0].State.Addresses[0]
}

func TestTargets(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct{ target, addr string }{
		{"unix:relative/sock", "relative/sock"},
		{"unix:sock", "sock"},
		{"unix:/abs/sock", "/abs/sock"},
		{"unix:///abs/sock", "/abs/sock"},
		{"unix:///tmp/with%20space", "/tmp/with space"},
		{"unix-abstract:name", "@name"},
		{"unix-abstract:dir/name", "@dir/name"},
		{"unix-abstract:///name", "@/name"},
	} {
		a := resolve(t, tc.target)
		if a.Addr != tc.addr {
			t.Errorf("%s: address %q, want %q", tc.target, a.Addr, tc.addr)
		}
		if n := resolver.Network(a); n != "unix" {
			t.Errorf("%s: network %q, want unix", tc.target, n)
		}
	}
}

func TestBadTargets(t *testing.T) {
	for _, s := range []string{"unix://host/sock", "unix://host", "unix:", "unix://", "unix-abstract:", "unix-abstract://h/name"} {
		tg := resolvertest.Target(t, s)
		cc := resolvertest.NewClientConn()
		if _, err := resolver.Get(tg.URL.Scheme).Build(tg, cc, resolver.BuildOptions{}); err == nil {
			t.Errorf("%s: Build succeeded", s)
		}
		if ev := cc.Take(); len(ev) != 0 {
			t.Errorf("%s: a failed Build pushed %v", s, ev)
		}
	}
}

func TestAuthority(t *testing.T) {
	for _, b := range []resolver.Builder{NewBuilder(), NewAbstractBuilder()} {
		o, ok := b.(resolver.AuthorityOverrider)
		if !ok {
			t.Fatalf("%s builder is no AuthorityOverrider", b.Scheme())
		}
		if got := o.OverrideAuthority(resolvertest.Target(t, b.Scheme()+":x")); got != "localhost" {
			t.Errorf("%s: authority %q, want localhost", b.Scheme(), got)
		}
	}
}

// TestDialResolvedAddress dials what the resolvers resolve to, over the
// network they name: a socket in the file system, and on Linux an abstract
// one.
func TestDialResolvedAddress(t *testing.T) {
	leakcheck.Check(t)
	path := filepath.Join(t.TempDir(), "s")
	listen := map[string]string{"unix://" + path: path}
	if runtime.GOOS == "linux" {
		name := "h2rpc-resolver-test-" + filepath.Base(filepath.Dir(path))
		listen["unix-abstract:"+name] = "@" + name
	}
	for tg, at := range listen {
		l, err := net.Listen("unix", at)
		if err != nil {
			t.Fatal(err)
		}
		accepted := make(chan error, 1)
		go func() {
			c, err := l.Accept()
			if err == nil {
				c.Close()
			}
			accepted <- err
		}()
		a := resolve(t, tg)
		c, err := net.Dial(resolver.Network(a), a.Addr)
		if err != nil {
			t.Fatalf("%s: dial %s %q: %v", tg, resolver.Network(a), a.Addr, err)
		}
		c.Close()
		if err := <-accepted; err != nil {
			t.Fatalf("%s: accept: %v", tg, err)
		}
		l.Close()
	}
}
