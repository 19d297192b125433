package resolver

import (
	"testing"

	"github.com/h2rpc/h2rpc/channel/attributes"
)

func TestNetwork(t *testing.T) {
	type otherKey struct{}
	a := Address{Addr: "/tmp/s", Attributes: attributes.New(otherKey{}, 1)}
	if got := Network(a); got != "" {
		t.Fatalf("Network of an address without one = %q, want \"\"", got)
	}
	u := SetNetwork(a, "unix")
	if got := Network(u); got != "unix" {
		t.Fatalf("Network = %q, want unix", got)
	}
	if u.Attributes.Value(otherKey{}) != 1 {
		t.Fatal("SetNetwork dropped the address's other attributes")
	}
	if Network(a) != "" {
		t.Fatal("SetNetwork changed the address it was given")
	}
	if u.Equal(a) {
		t.Fatal("addresses that differ in network are Equal")
	}
	if !u.Equal(SetNetwork(a, "unix")) {
		t.Fatal("the same address with the same network is not Equal")
	}
	if Network(Address{Addr: "x", Attributes: attributes.New(networkKey{}, 7)}) != "" {
		t.Fatal("a network value that is not a string is not ignored")
	}
}
