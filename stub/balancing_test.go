package stub_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/resolver"
	"github.com/h2rpc/h2rpc/channel/resolver/manual"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

// TestRoundRobinThroughManualResolver: addresses pushed by a manual
// resolver, spread by round_robin from the default service config, as a
// grpc-go program would write it; each server is reached.
func TestRoundRobinThroughManualResolver(t *testing.T) {
	leakcheck.Check(t)
	var addrs []resolver.Address
	var served [3]atomic.Int32
	for i := range 3 {
		count := stub.UnaryInterceptor(func(ctx context.Context, req any, info *stub.UnaryServerInfo, h stub.UnaryHandler) (any, error) {
			served[i].Add(1)
			return h(ctx, req)
		})
		e := newEnv(t, envConfig{sopts: []stub.ServerOption{count}})
		addrs = append(addrs, resolver.Address{Addr: e.addr})
	}
	r := manual.NewBuilderWithScheme("test")
	r.InitialState(resolver.State{Addresses: addrs})
	cc, err := stub.NewClient("test:///echo", stub.WithResolvers(r),
		stub.WithTransportCredentials(insecure.NewCredentials()),
		stub.WithDefaultServiceConfig(`{"loadBalancingConfig": [{"round_robin": {}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := pb.NewEchoClient(cc)
	// Until all three subchannels are READY, calls go to those that are.
	for deadline := time.Now().Add(5 * time.Second); served[0].Load() == 0 || served[1].Load() == 0 || served[2].Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("servers reached: %d, %d, %d calls", served[0].Load(), served[1].Load(), served[2].Load())
		}
		if _, err := client.Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range served {
		served[i].Store(0)
	}
	const calls = 300
	for range calls {
		if _, err := client.Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range served {
		if n := served[i].Load(); n != calls/3 {
			t.Errorf("server %d served %d of %d calls", i, n, calls)
		}
	}
}

// TestDialContextBlock: DialContext with WithBlock returns a READY client;
// against an address where nothing listens it fails when its context ends.
func TestDialContextBlock(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cc, err := stub.DialContext(ctx, e.addr, stub.WithInsecure(), stub.WithBlock())
	if err != nil {
		t.Fatal(err)
	}
	if s := cc.GetState(); s != connectivity.Ready {
		t.Errorf("DialContext returned in state %v", s)
	}
	cc.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if cc, err := stub.DialContext(ctx, dead, stub.WithInsecure(), stub.WithReturnConnectionError()); err == nil {
		cc.Close()
		t.Fatal("DialContext to nothing succeeded")
	}
}

// TestTargetWithoutEndpoint: a target that names no endpoint ("scheme:///")
// still makes calls: its :authority is localhost, not empty (which HTTP/2
// servers refuse).
func TestTargetWithoutEndpoint(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	r := manual.NewBuilderWithScheme("noendpoint")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: e.addr}}})
	cc, err := stub.NewClient("noendpoint:///", stub.WithResolvers(r), stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := pb.NewEchoClient(cc).Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
		t.Fatalf("call through %q: %v", cc.Target(), err)
	}
}
