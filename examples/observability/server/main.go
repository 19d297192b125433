// Command server is the greeter server with traces, Prometheus metrics at
// /metrics on its gRPC port, and a log line per call.
package main

import (
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os"

	"github.com/h2rpc/h2rpc/examples/observability"
	"github.com/h2rpc/h2rpc/stub"
)

var port = flag.Int("port", 50051, "the port to listen on (0: any free port; the first line of standard output says which)")

func main() {
	flag.Parse()
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatalf("listen: %v (choose another port with --port)", err)
	}
	l := slog.New(slog.NewTextHandler(os.Stderr, nil))
	stub.SetLogger(l)
	s, err := observability.Server(os.Stdout, l)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s; metrics at http://%s/metrics\n", lis.Addr(), lis.Addr())
	if err := s.Serve(lis); err != nil {
		log.Fatal(err)
	}
}
