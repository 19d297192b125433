// Command cluster_client calls gossip:///helloworld.Greeter once a second
// (or --count times) and prints which server answered.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/gossip"
	"github.com/h2rpc/h2rpc/gossip/resolver"
	"github.com/h2rpc/h2rpc/stub"
)

var (
	gossipAddr = flag.String("gossip", "127.0.0.1:0", "gossip address of the client's own member")
	join       = flag.String("join", "127.0.0.1:7946", "gossip addresses of members to join, comma-separated")
	count      = flag.Int("count", 0, "calls to make, one a second; 0: until interrupted")
)

func main() {
	flag.Parse()
	tr, err := gossip.NewNetTransport(gossip.NetConfig{Bind: *gossipAddr})
	if err != nil {
		log.Fatalf("gossip: %v", err)
	}
	// The client is a member that offers nothing.
	cfg := gossip.LAN()
	cfg.Name = "client-" + tr.Addr()
	cfg.Transport = tr
	node, err := gossip.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer node.Shutdown()
	defer node.Leave()
	if _, err := node.Join(strings.Split(*join, ",")); err != nil {
		log.Fatalf("join: %v", err)
	}
	conn, err := stub.NewClient("gossip:///helloworld.Greeter", stub.WithTransportCredentials(insecure.NewCredentials()),
		stub.WithResolvers(resolver.NewBuilder(node)),
		stub.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewGreeterClient(conn)
	for i := 0; *count == 0 || i < *count; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		r, err := c.SayHello(ctx, &pb.HelloRequest{Name: "cluster"}, stub.WaitForReady(true))
		cancel()
		if err != nil {
			fmt.Println("call failed:", err)
		} else {
			fmt.Println(r.GetMessage())
		}
		if *count == 0 || i+1 < *count {
			time.Sleep(time.Second)
		}
	}
}
