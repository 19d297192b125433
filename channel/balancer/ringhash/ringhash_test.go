package ringhash

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/h2rpc/h2rpc/channel/balancer"
	tu "github.com/h2rpc/h2rpc/channel/balancer/internal/testutils"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

const keys = 10000

// owners picks once per key, with the key in the x-user header, and
// returns each key's server.
func owners(t *testing.T, p balancer.Picker) []string {
	t.Helper()
	out := make([]string, keys)
	for k := range keys {
		ctx := metadata.NewOutgoingContext(context.Background(), metadata.Pairs("x-user", fmt.Sprintf("user-%d", k)))
		r, err := p.Pick(balancer.PickInfo{FullMethodName: "/s/m", Ctx: ctx})
		if err != nil {
			t.Fatal(err)
		}
		out[k] = r.SubConn.(*tu.SubConn).Addr.Addr
	}
	return out
}

func config(t *testing.T, js string) *LBConfig {
	t.Helper()
	cfg, err := builder{}.ParseConfig(json.RawMessage(js))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.(*LBConfig)
}

// TestKeysStayAndOneNthMoves: with five servers each key has one owner,
// every server owns about a fifth; when one leaves, exactly its keys move,
// about 1/5 of all, and when it comes back they return.
func TestKeysStayAndOneNthMoves(t *testing.T) {
	leakcheck.Check(t)
	cc := tu.NewClientConn(t)
	b := builder{}.Build(cc, balancer.BuildOptions{})
	defer b.Close()
	cfg := config(t, `{"requestHashHeader":"X-User"}`)
	addrs := []string{"a", "b", "c", "d", "e"}
	if err := b.UpdateClientConnState(tu.State(cfg, addrs...)); err != nil {
		t.Fatal(err)
	}
	cc.Up(addrs...)
	before := owners(t, cc.Picker())
	again := owners(t, cc.Picker())
	share := map[string]int{}
	for k := range keys {
		if before[k] != again[k] {
			t.Fatalf("key %d went to %s, then %s", k, before[k], again[k])
		}
		share[before[k]]++
	}
	for _, a := range addrs {
		if n := share[a]; math.Abs(float64(n)-keys/5) > 0.25*keys/5 {
			t.Fatalf("shares %v, want about %d each", share, keys/5)
		}
	}
	if err := b.UpdateClientConnState(tu.State(cfg, "a", "b", "d", "e")); err != nil {
		t.Fatal(err)
	}
	after := owners(t, cc.Picker())
	moved := 0
	for k := range keys {
		switch {
		case before[k] == "c" && after[k] == "c":
			t.Fatalf("key %d still goes to the departed c", k)
		case before[k] != "c" && after[k] != before[k]:
			t.Fatalf("key %d moved from %s to %s though %s is still there", k, before[k], after[k], before[k])
		case before[k] == "c":
			moved++
		}
	}
	if frac := float64(moved) / keys; math.Abs(frac-0.2) > 0.05 {
		t.Fatalf("%.3f of the keys moved, want about 1/5", frac)
	}
	t.Logf("%d of %d keys moved when one of 5 servers left", moved, keys)
	if err := b.UpdateClientConnState(tu.State(cfg, addrs...)); err != nil {
		t.Fatal(err)
	}
	cc.Up("c")
	for k, a := range owners(t, cc.Picker()) {
		if a != before[k] {
			t.Fatalf("key %d goes to %s once c is back, was %s", k, a, before[k])
		}
	}
}

// TestNoHeaderSpreadsAtRandom: a call without the header gets a random
// hash, so calls spread over every server.
func TestNoHeaderSpreadsAtRandom(t *testing.T) {
	leakcheck.Check(t)
	cc := tu.NewClientConn(t)
	b := builder{}.Build(cc, balancer.BuildOptions{})
	defer b.Close()
	if err := b.UpdateClientConnState(tu.State(nil, "a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	cc.Up("a", "b", "c")
	got := tu.Count(t, cc.Picker(), 3000)
	for _, a := range []string{"a", "b", "c"} {
		if n := got[cc.SubConn(a)]; n < 700 || n > 1300 {
			t.Fatalf("%s got %d of 3000 calls without a hash header, want about 1000", a, n)
		}
	}
}

func TestParseConfig(t *testing.T) {
	for js, ok := range map[string]bool{
		`{}`: true,
		`{"minRingSize":10,"maxRingSize":20,"requestHashHeader":"x-key"}`: true,
		`{"minRingSize":0}`:                   false,
		`{"minRingSize":30,"maxRingSize":20}`: false,
		`{"maxRingSize":9000000}`:             false,
		`{"requestHashHeader":":path"}`:       false,
		`{"requestHashHeader":"key-bin"}`:     false,
		`{"minRingSize":"big"}`:               false,
	} {
		if _, err := (builder{}).ParseConfig(json.RawMessage(js)); (err == nil) != ok {
			t.Errorf("ParseConfig(%s): error %v, want ok %v", js, err, ok)
		}
	}
}
