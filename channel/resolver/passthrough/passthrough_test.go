package passthrough

import (
	"context"
	"net"
	"slices"
	"testing"

	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/internal/resolvertest"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

func TestRegistered(t *testing.T) {
	if b := resolver.Get("passthrough"); b == nil || b.Scheme() != "passthrough" {
		t.Fatalf("Get(passthrough) = %v", b)
	}
}

func TestEndpointIsTheAddress(t *testing.T) {
	leakcheck.Check(t)
	for _, tc := range []struct{ target, addr string }{
		{"passthrough:///localhost:50051", "localhost:50051"},
		{"passthrough:///[::1]:443", "[::1]:443"},
		{"passthrough:///not a host at all", "not a host at all"},
		{"passthrough://authority/10.0.0.1:80", "10.0.0.1:80"},
		{"passthrough:opaque:1", "opaque:1"},
	} {
		cc := resolvertest.NewClientConn()
		r, err := NewBuilder().Build(resolvertest.Target(t, tc.target), cc, resolver.BuildOptions{})
		if err != nil {
			t.Fatalf("%s: Build: %v", tc.target, err)
		}
		r.ResolveNow(resolver.ResolveNowOptions{})
		r.Close()
		ev := cc.Take()
		if len(ev) != 1 || ev[0].Err != nil {
			t.Fatalf("%s: pushed %v, want one state", tc.target, ev)
		}
		if got := resolvertest.Addrs(ev[0].State); !slices.Equal(got, []string{tc.addr}) {
			t.Errorf("%s: addresses %q, want [%q]", tc.target, got, tc.addr)
		}
		if msg := resolvertest.CheckEndpoints(ev[0].State); msg != "" {
			t.Errorf("%s: %s", tc.target, msg)
		}
		if n := resolver.Network(ev[0].State.Addresses[0]); n != "" {
			t.Errorf("%s: network %q, want none (tcp)", tc.target, n)
		}
	}
}

func TestEmptyEndpoint(t *testing.T) {
	cc := resolvertest.NewClientConn()
	if _, err := NewBuilder().Build(resolvertest.Target(t, "passthrough:///"), cc, resolver.BuildOptions{}); err == nil {
		t.Fatal("Build of an empty endpoint succeeded")
	}
	if ev := cc.Take(); len(ev) != 0 {
		t.Fatalf("a failed Build pushed %v", ev)
	}
	// A channel with its own dialer may not need an address.
	dial := func(context.Context, string) (net.Conn, error) { return nil, net.ErrClosed }
	r, err := NewBuilder().Build(resolvertest.Target(t, "passthrough:///"), cc, resolver.BuildOptions{Dialer: dial})
	if err != nil {
		t.Fatalf("Build with a dialer: %v", err)
	}
	r.Close()
	if ev := cc.Take(); len(ev) != 1 || len(ev[0].State.Addresses) != 1 || ev[0].State.Addresses[0].Addr != "" {
		t.Fatalf("pushed %v, want one empty address", ev)
	}
}
