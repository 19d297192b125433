package membership_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/gossip"
	"github.com/h2rpc/h2rpc/gossip/announcer"
	"github.com/h2rpc/h2rpc/gossip/membership"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stub"
)

type greeter struct {
	pb.UnimplementedGreeterServer
	name string
}

func (g greeter) SayHello(context.Context, *pb.HelloRequest) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: g.name}, nil
}

// member is one announced server that also serves Membership.
type member struct {
	node *gossip.Node
	srv  *stub.Server
	rpc  string
	done chan error
}

func startMember(t *testing.T, name string, join string) *member {
	t.Helper()
	tr, err := gossip.NewNetTransport(gossip.NetConfig{Bind: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := gossip.Local()
	cfg.Name = name
	cfg.Transport = tr
	node, err := gossip.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := stub.NewServer()
	pb.RegisterGreeterServer(srv, greeter{name: name})
	if _, err := announcer.Start(node, srv, announcer.Options{RPCAddr: lis.Addr().String(), Services: []string{"helloworld.Greeter"}, LeaveWait: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	membership.Register(srv, node)
	m := &member{node: node, srv: srv, rpc: lis.Addr().String(), done: make(chan error, 1)}
	go func() { m.done <- srv.Serve(lis) }()
	if join != "" {
		if _, err := node.Join([]string{join}); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func (m *member) stop() {
	m.srv.GracefulStop()
	<-m.done
	m.node.Shutdown()
}

// replies makes n calls and counts them by the server that answered.
func replies(t *testing.T, c pb.GreeterClient, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := c.SayHello(ctx, &pb.HelloRequest{}, stub.WaitForReady(true))
		cancel()
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		got[r.GetMessage()]++
	}
	return got
}

// TestThinClientFollowsTheCluster: a client that is no member streams the
// membership from the first server named in its target, reaches both
// servers, and when that server leaves it streams from the other and
// stops calling the one that left.
func TestThinClientFollowsTheCluster(t *testing.T) {
	leakcheck.Check(t)
	a := startMember(t, "a", "")
	b := startMember(t, "b", a.node.Addr())
	defer b.stop()
	target := fmt.Sprintf("gossip://%s,%s/helloworld.Greeter", a.rpc, b.rpc)
	conn, err := stub.NewClient(target, stub.WithTransportCredentials(insecure.NewCredentials()),
		stub.WithResolvers(membership.NewBuilder(stub.WithTransportCredentials(insecure.NewCredentials()))),
		stub.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewGreeterClient(conn)
	deadline := time.Now().Add(10 * time.Second)
	for got := replies(t, c, 20); got["a"] == 0 || got["b"] == 0; got = replies(t, c, 20) {
		if time.Now().After(deadline) {
			t.Fatalf("replies %v: the thin client does not reach both servers", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.stop()
	deadline = time.Now().Add(10 * time.Second)
	for got := replies(t, c, 20); got["a"] != 0; got = replies(t, c, 20) {
		if time.Now().After(deadline) {
			t.Fatalf("replies %v: a stopped, yet calls still reach it", got)
		}
	}
	if got := replies(t, c, 20); got["b"] != 20 {
		t.Fatalf("replies %v after a left, want all 20 from b", got)
	}
}

// TestThinTargetNeedsMembers: a thin client's target without members
// fails with an error that shows the form it needs.
func TestThinTargetNeedsMembers(t *testing.T) {
	leakcheck.Check(t)
	conn, err := stub.NewClient("gossip:///helloworld.Greeter", stub.WithTransportCredentials(insecure.NewCredentials()), stub.WithResolvers(membership.NewBuilder(stub.WithTransportCredentials(insecure.NewCredentials()))))
	if err == nil {
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err = pb.NewGreeterClient(conn).SayHello(ctx, &pb.HelloRequest{})
	}
	if err == nil || !strings.Contains(err.Error(), "gossip://host:port") {
		t.Fatalf("got %v, want an error naming the target's form", err)
	}
}
