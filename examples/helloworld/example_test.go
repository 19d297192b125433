package helloworld_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/stub"
)

type greeter struct {
	pb.UnimplementedGreeterServer
}

func (greeter) SayHello(_ context.Context, in *pb.HelloRequest) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello " + in.GetName()}, nil
}

// A server and a client of the Greeter service, as grpc-go users write
// them, with stub in place of grpc.
func Example() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := stub.NewServer()
	pb.RegisterGreeterServer(s, greeter{})
	go s.Serve(lis)
	defer s.Stop()

	conn, err := stub.NewClient(lis.Addr().String(), stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	r, err := pb.NewGreeterClient(conn).SayHello(context.Background(), &pb.HelloRequest{Name: "world"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.GetMessage())
	// Output: Hello world
}
