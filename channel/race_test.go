package channel

import (
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
)

// TestInvokeCancelAsItCompletes cancels unary calls at random points around
// their completion, from eight goroutines. Invoke pools its ClientStream,
// so a context callback that outlived a call used to reset a stream of
// another call, or a zeroed one, and crash. Every call must end with its
// exact reply or CANCELLED.
func TestInvokeCancelAsItCompletes(t *testing.T) {
	cc := setup(t, func(ss *ServerStream) {
		m, err := ss.RecvMsg(nil)
		if err != nil {
			ss.Finish(status.Convert(err))
			return
		}
		if _, err := ss.RecvMsg(nil); err != io.EOF {
			ss.Finish(status.New(codes.Internal, "second request"))
			return
		}
		ss.SendMsgAndFinish(append(make([]byte, MsgHeaderLen), m...), nil)
	})
	// One call's latency, to spread the cancels over 0 to 2 of them.
	start := time.Now()
	if _, err := cc.Invoke(bg(), "/a/b", msg("warm"), nil, nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	lat := max(time.Since(start), 20*time.Microsecond)

	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[codes.Code]int{}
	deadline := time.Now().Add(time.Second)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			var reply []byte
			for i := 0; time.Now().Before(deadline); i++ {
				ctx, cancel := context.WithCancel(bg())
				timer := time.AfterFunc(time.Duration(rng.Int64N(int64(2*lat))), cancel)
				want := []byte{byte(g), byte(i), byte(i >> 8)}
				var err error
				reply, err = cc.Invoke(ctx, "/a/b", append(msg(""), want...), reply, nil, nil, nil)
				timer.Stop()
				cancel()
				code := status.Code(err)
				switch {
				case err == nil && string(reply) != string(want):
					t.Errorf("reply %x, want %x", reply, want)
				case err != nil && code != codes.Canceled:
					t.Errorf("call ended with %v", err)
				}
				mu.Lock()
				counts[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("outcomes: %v", counts)
	if counts[codes.OK] == 0 || counts[codes.Canceled] == 0 {
		t.Errorf("want both completed and cancelled calls, got %v", counts)
	}
}

// TestHeaderWhileReceiving reads a streaming call's response headers on
// one goroutine while another receives its messages, as grpc-go's
// metadata example does: both must see the same headers, with the
// metadata the server sent.
func TestHeaderWhileReceiving(t *testing.T) {
	cc := setup(t, func(ss *ServerStream) {
		ss.SendHeader(metadata.Pairs("x-h", "1"))
		echoHandler(ss)
	})
	for range 200 {
		cs, err := cc.NewStream(bg(), "/a/b", nil)
		if err != nil {
			t.Fatal(err)
		}
		hdr := make(chan metadata.MD, 1)
		go func() {
			md, err := cs.Header()
			if err != nil {
				t.Errorf("Header: %v", err)
			}
			hdr <- md
		}()
		if err := cs.SendMsg(msg("x")); err != nil {
			t.Fatal(err)
		}
		cs.CloseSend()
		if m, err := cs.RecvMsg(nil); err != nil || string(m) != "x" {
			t.Fatalf("RecvMsg: %q, %v", m, err)
		}
		if _, err := cs.RecvMsg(nil); err != io.EOF {
			t.Fatalf("end: %v", err)
		}
		if md := <-hdr; len(md["x-h"]) != 1 || md["x-h"][0] != "1" {
			t.Fatalf("Header returned %v", md)
		}
	}
}

// TestCloseEndsCallsWithCanceled: ClientConn.Close ends the calls in
// progress, unary and streaming, with CANCELLED, as in grpc-go.
func TestCloseEndsCallsWithCanceled(t *testing.T) {
	started := make(chan struct{}, 2)
	cc := setup(t, func(ss *ServerStream) {
		started <- struct{}{}
		<-ss.Done()
	})
	unary := make(chan error, 1)
	go func() {
		_, err := cc.Invoke(bg(), "/a/b", msg("x"), nil, nil, nil, nil)
		unary <- err
	}()
	cs, err := cc.NewStream(bg(), "/a/c", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.SendMsg(msg("x")); err != nil {
		t.Fatal(err)
	}
	within(t, "first call", started)
	within(t, "second call", started)
	cc.Close()
	select {
	case err := <-unary:
		wantCode(t, err, codes.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("unary call still running after Close")
	}
	_, err = cs.RecvMsg(nil)
	wantCode(t, err, codes.Canceled)
}
