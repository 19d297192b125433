package base_test

import (
	"testing"

	"github.com/h2rpc/h2rpc/channel/balancer"
	tu "github.com/h2rpc/h2rpc/channel/balancer/internal/testutils"
)

// TestLastResortPickedOnlyWhenAlone: an address marked last resort keeps
// its subchannel but leaves the READY set while a healthier one is READY,
// and comes back when it is all that is left or when the mark is lifted.
func TestLastResortPickedOnlyWhenAlone(t *testing.T) {
	cc, b := newBalancer(t)
	update(t, b, "a", "b")
	cc.Up("a", "b")
	if got := readySet(t, cc); got != "a,b" {
		t.Fatalf("READY set %s, want a,b", got)
	}
	s := tu.State(nil, "a", "b")
	s.ResolverState.Addresses[1] = balancer.SetLastResort(s.ResolverState.Addresses[1])
	if err := b.UpdateClientConnState(s); err != nil {
		t.Fatal(err)
	}
	if got := readySet(t, cc); got != "a" {
		t.Fatalf("READY set with b a last resort: %s, want a", got)
	}
	if sc := cc.SubConn("b"); sc.IsShutdown() || len(cc.Live()) != 2 {
		t.Fatalf("marking b shut it down or remade it: live %v", cc.Live())
	}
	cc.SubConn("a").Idle()
	cc.SubConn("a").Connecting()
	cc.SubConn("a").Fail(nil)
	if got := readySet(t, cc); got != "b" {
		t.Fatalf("READY set with a down: %s, want the last resort b", got)
	}
	cc.SubConn("a").Idle()
	cc.SubConn("a").Connecting()
	cc.SubConn("a").Ready()
	if got := readySet(t, cc); got != "a" {
		t.Fatalf("READY set with a back: %s, want a", got)
	}
	update(t, b, "a", "b")
	if got := readySet(t, cc); got != "a,b" {
		t.Fatalf("READY set with the mark lifted: %s, want a,b", got)
	}
}
