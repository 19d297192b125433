package base

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/h2rpc/h2rpc/channel/attributes"
	"github.com/h2rpc/h2rpc/channel/resolver"
)

type key struct{}

func TestAddrMap(t *testing.T) {
	a := resolver.Address{Addr: "x:1"}
	aBal := resolver.Address{Addr: "x:1", BalancerAttributes: attributes.New(key{}, 1)}
	aAttr := resolver.Address{Addr: "x:1", Attributes: attributes.New(key{}, 1)}
	aName := resolver.Address{Addr: "x:1", ServerName: "n"}
	var m AddrMap[int]
	if _, ok := m.Get(a); ok || m.Len() != 0 {
		t.Fatal("the zero AddrMap is not empty")
	}
	m.Set(a, 1)
	m.Set(aAttr, 2)
	m.Set(aName, 3)
	m.Set(aBal, 4) // the same address as a: BalancerAttributes do not count
	if m.Len() != 3 {
		t.Fatalf("Len %d, want 3", m.Len())
	}
	for _, c := range []struct {
		a    resolver.Address
		want int
	}{{a, 4}, {aAttr, 2}, {aName, 3}} {
		if v, ok := m.Get(c.a); !ok || v != c.want {
			t.Errorf("Get(%v) = %d, %v; want %d", c.a, v, ok, c.want)
		}
	}
	m.Delete(aAttr)
	m.Delete(aAttr)
	if _, ok := m.Get(aAttr); ok || m.Len() != 2 {
		t.Fatalf("after Delete: Len %d, want 2", m.Len())
	}
	sum := 0
	m.All(func(_ resolver.Address, v int) bool { sum += v; return true })
	if sum != 7 {
		t.Fatalf("All visited values summing to %d, want 7", sum)
	}
}

func TestDedupe(t *testing.T) {
	in := []resolver.Address{{Addr: "a"}, {Addr: "b"}, {Addr: "a", BalancerAttributes: attributes.New(key{}, 1)}, {Addr: "a", ServerName: "s"}, {Addr: "b"}}
	got := fmt.Sprint(Dedupe(in))
	if want := "[a b a (s)]"; got != want {
		t.Fatalf("Dedupe = %s, want %s", got, want)
	}
}

func TestFailureError(t *testing.T) {
	if err := FailureError("x", nil); err.Error() != "x" {
		t.Fatalf("FailureError(x, nil) = %q", err)
	}
	if err := FailureError("x", io.EOF); !errors.Is(err, io.EOF) || err.Error() != "x: EOF" {
		t.Fatalf("FailureError(x, EOF) = %q, does not wrap EOF", err)
	}
}
