package main

import (
	"context"
	"flag"
	"log"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/stub"
)

var (
	addr = flag.String("addr", "localhost:50051", "the address of the greeter server")
	name = flag.String("name", "world", "the name to greet")
)

func main() {
	flag.Parse()
	conn, err := stub.NewClient(*addr, stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("client: %v", err)
	}
	defer conn.Close()
	c := pb.NewGreeterClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.SayHello(ctx, &pb.HelloRequest{Name: *name}, stub.WaitForReady(true))
	if err != nil {
		log.Fatalf("SayHello: %v (is greeter_server running on %s?)", err, *addr)
	}
	log.Printf("Greeting: %s", r.GetMessage())
}
