package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"

	"github.com/h2rpc/h2rpc/examples/route_guide/guide"
	pb "github.com/h2rpc/h2rpc/examples/route_guide/routeguide"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/health"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
	"github.com/h2rpc/h2rpc/stub/reflection"
)

var (
	port   = flag.Int("port", 50051, "the port to listen on (0: any free port; the first line of standard output says which)")
	dbFile = flag.String("json_db_file", "", "a JSON file of features (default: the database built in)")
)

func main() {
	flag.Parse()
	features := guide.DefaultFeatures()
	if *dbFile != "" {
		data, err := os.ReadFile(*dbFile)
		if err != nil {
			log.Fatalf("features: %v", err)
		}
		if features, err = guide.ParseFeatures(data); err != nil {
			log.Fatalf("%s: %v", *dbFile, err)
		}
	}
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatalf("listen: %v (choose another port with --port)", err)
	}
	s := stub.NewServer()
	pb.RegisterRouteGuideServer(s, guide.NewServer(features))
	// Health checks and reflection (for grpcurl), as every server should.
	healthpb.RegisterHealthServer(s, health.NewServer())
	reflection.Register(s)
	fmt.Printf("listening on %v\n", lis.Addr())
	if err := s.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
