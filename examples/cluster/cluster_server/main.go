// Command cluster_server serves helloworld.Greeter and announces itself
// to a gossip cluster; Ctrl-C leaves the cluster, then drains.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/gossip"
	"github.com/h2rpc/h2rpc/gossip/announcer"
	"github.com/h2rpc/h2rpc/stub"
)

var (
	rpcAddr    = flag.String("rpc", "127.0.0.1:50051", "address to serve RPCs on")
	gossipAddr = flag.String("gossip", "127.0.0.1:7946", "gossip address (UDP and TCP)")
	join       = flag.String("join", "", "gossip addresses of members to join, comma-separated; empty starts a cluster")
)

type server struct {
	pb.UnimplementedGreeterServer
	name string
}

func (s server) SayHello(_ context.Context, in *pb.HelloRequest) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello " + in.GetName() + " from " + s.name}, nil
}

func main() {
	flag.Parse()
	lis, err := net.Listen("tcp", *rpcAddr)
	if err != nil {
		log.Fatalf("listen: %v (choose another --rpc)", err)
	}
	tr, err := gossip.NewNetTransport(gossip.NetConfig{Bind: *gossipAddr})
	if err != nil {
		log.Fatalf("gossip: %v (choose another --gossip)", err)
	}
	cfg := gossip.LAN()
	cfg.Name = lis.Addr().String()
	cfg.Transport = tr
	node, err := gossip.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer node.Shutdown()

	load := announcer.NewLoad()
	s := stub.NewServer(load.ServerOptions()...)
	pb.RegisterGreeterServer(s, server{name: cfg.Name})
	// The member's metadata now says where it serves, what and how busy
	// it is; GracefulStop leaves the cluster before it drains.
	if _, err := announcer.Start(node, s, announcer.Options{RPCAddr: lis.Addr().String(), Load: load}); err != nil {
		log.Fatal(err)
	}
	if *join != "" {
		if _, err := node.Join(strings.Split(*join, ",")); err != nil {
			log.Fatalf("join: %v", err)
		}
	}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
		<-stop
		fmt.Println("leaving the cluster, then draining")
		s.GracefulStop()
	}()
	fmt.Printf("serving helloworld.Greeter on %v, gossip on %v\n", lis.Addr(), node.Addr())
	if err := s.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
