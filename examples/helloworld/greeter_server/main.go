package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"

	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/health"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
	"github.com/h2rpc/h2rpc/stub/reflection"
)

var port = flag.Int("port", 50051, "the port to listen on (0: any free port; the first line of standard output says which)")

// server implements helloworld.GreeterServer.
type server struct {
	pb.UnimplementedGreeterServer
}

func (server) SayHello(_ context.Context, in *pb.HelloRequest) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "Hello " + in.GetName()}, nil
}

func (server) SayHelloStream(in *pb.HelloRequest, s pb.Greeter_SayHelloStreamServer) error {
	for _, part := range []string{"Hello", in.GetName()} {
		if err := s.Send(&pb.HelloReply{Message: part}); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	flag.Parse()
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatalf("listen: %v (choose another port with --port)", err)
	}
	s := stub.NewServer()
	pb.RegisterGreeterServer(s, server{})
	// Health checks and reflection (for grpcurl), as every server should.
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	fmt.Printf("listening on %v\n", lis.Addr())
	if err := s.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
