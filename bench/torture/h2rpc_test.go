package torture

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/interop"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
	"github.com/h2rpc/h2rpc/stub"
)

// Bounds of the floods against an in-process h2rpc server: what the
// server must hold to, whatever an attacker sends.
const (
	// testDuration is how long each attack floods the server.
	testDuration = time.Second

	// heapBound is the most the heap may grow (HeapInuse after garbage
	// collection, measured at the end of the flood with the attacking
	// connections still open) under a flood of control frames, resets or
	// header blocks: a defended server keeps what one abusive connection
	// costs within a budget of a few MiB, whatever it has reset or
	// acknowledged; the rest is slack for the attacker's and the probe's
	// own buffers (counted too, being in the same process) and for the
	// collector's timing.
	heapBound = 16 << 20

	// zeroWindowStreams × largeResponse on each of the attack's 4
	// connections is what zero-window asks for and never reads: 128 MiB,
	// enough refused responses for the server to close each connection.
	testZeroWindowStreams = 32
	// blockedPerConn and blockedTotal are the test server's budgets for
	// response bytes held while a client's window is closed
	// (stub.MaxBlockedSendBytes): 4 connections could pin 32 MiB, the
	// server allows 24 MiB in all.
	blockedPerConn = 8 << 20
	blockedTotal   = 24 << 20
	// zeroWindowHeapBound is what the server may pin of those 128 MiB:
	// its whole budget, plus twice the other floods' slack, for replies
	// still being built on a loaded machine (2 MiB each: the payload and
	// its encoding). Without the budget the heap grows by all 128 MiB.
	zeroWindowHeapBound = blockedTotal + 2*heapBound

	// eagerBudget mirrors the channel layer's budget of messages allocated
	// in full on their prefix, per connection (8 MiB).
	eagerBudget = 8 << 20
	// smallDataHeapBound: small-data's 16 requests announce 4 MiB each
	// (64 MiB) and send one byte per frame, far less than 1 MiB in
	// testDuration. Memory must follow the bytes received, not the sizes
	// announced, beyond the eager budget.
	smallDataHeapBound = eagerBudget + heapBound
)

// heapBoundFor returns the bound on heap growth under attack.
func heapBoundFor(name string) int64 {
	switch name {
	case "zero-window":
		return zeroWindowHeapBound
	case "small-data":
		return smallDataHeapBound
	}
	return heapBound
}

// heapInuse returns the heap in use once garbage has been collected: the
// first collection leaves pooled buffers in the victim cache, the second
// frees them.
func heapInuse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// startServer serves the interop TestService on a loopback port until the
// test ends, with h2rpc's defaults but for the blocked-send budgets.
func startServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := stub.NewServer(stub.MaxBlockedSendBytes(blockedPerConn, blockedTotal))
	pb.RegisterTestServiceServer(srv, interop.NewTestServer())
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// TestFloodsAgainstH2RPC runs every attack against an h2rpc server and
// checks what RFC 9113 §10.5 and the project's targets ask of it: other
// clients are served throughout, memory stays within a budget, and the
// floods it is expected to stop end with GOAWAY ENHANCE_YOUR_CALM.
func TestFloodsAgainstH2RPC(t *testing.T) {
	for _, a := range Attacks() {
		t.Run(a.Name, func(t *testing.T) { testFlood(t, a) })
	}
}

func testFlood(t *testing.T, a Attack) {
	leakcheck.Check(t)
	problems := floodOnce(t, a, testDuration)
	if len(problems) > 0 {
		// A flood that starved for CPU on a loaded machine (an attacker
		// that sent too little to trip a budget, a reply still being built
		// when the heap was read) gets one longer run, whose verdict
		// stands.
		t.Logf("after %v: %s; running the attack again for %v", testDuration, strings.Join(problems, "; "), 4*testDuration)
		problems = floodOnce(t, a, 4*testDuration)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// floodOnce runs attack a for d against a new server and returns what it
// did wrong.
func floodOnce(t *testing.T, a Attack, d time.Duration) []string {
	addr := startServer(t)
	before := heapInuse()
	var after int64
	cfg := Config{
		Target:         addr,
		Attacks:        []string{a.Name},
		Duration:       d,
		Baseline:       300 * time.Millisecond,
		DrainIdle:      300 * time.Millisecond,
		StreamsPerConn: testZeroWindowStreams,
		// What the flood pins, not what is passing through: the smaller
		// of two looks 300 ms apart, while the attack's connections are
		// still open (a loaded machine may still be building replies at
		// the first).
		OnAttackEnd: func(string) {
			after = heapInuse()
			time.Sleep(300 * time.Millisecond)
			after = min(after, heapInuse())
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	t.Logf("heap grew by %.1f MiB\n%s", float64(after-before)/(1<<20), table.String())
	res := rep.Attacks[0]
	if res.Error != "" {
		t.Fatalf("attack did not run as meant: %s", res.Error)
	}
	if res.FramesSent == 0 {
		t.Fatal("the attacker sent no frame")
	}
	var problems []string
	if p := res.Probe; p.Calls == 0 || p.Served != p.Calls {
		problems = append(problems, fmt.Sprintf("probe: %d of %d calls served during the flood (p50 %v, p99 %v, last failure %q); want all",
			p.Served, p.Calls, time.Duration(p.P50), time.Duration(p.P99), p.LastFailure))
	}
	if growth, bound := after-before, heapBoundFor(a.Name); growth > bound {
		problems = append(problems, fmt.Sprintf("heap grew by %.1f MiB under the flood; bound %.0f MiB", float64(growth)/(1<<20), float64(bound)/(1<<20)))
	}
	if !a.ExpectClose {
		return problems
	}
	// Expected of every flood marked so; for continuation, stream/ turns
	// hpack.ErrBlockTooLarge (the block cap, or too many fragments) into
	// the same code.
	want := frame.ErrCodeEnhanceYourCalm.String()
	for i, c := range res.Conns {
		if !c.Closed || c.GoAway != want {
			problems = append(problems, fmt.Sprintf("connection %d: %s after %d frames (GOAWAY %q, stalled %v); want closed with GOAWAY %s",
				i, c.How, c.FramesSent, c.GoAway, c.Stalled, want))
		}
	}
	return problems
}
