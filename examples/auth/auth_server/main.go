package main

import (
	"flag"
	"fmt"
	"log"
	"net"

	"github.com/h2rpc/h2rpc/examples/auth"
)

var (
	port = flag.Int("port", 50052, "the port to listen on (0: any free port; the first line of standard output says which)")
	mtls = flag.Bool("mtls", true, "verify client certificates signed by the example's CA, when clients present one (false: TLS only)")
)

func main() {
	flag.Parse()
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatalf("listen: %v (choose another port with --port)", err)
	}
	s := auth.NewServer(auth.ServerCredentials(*mtls))
	fmt.Printf("listening on %v\n", lis.Addr())
	if err := s.Serve(lis); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
