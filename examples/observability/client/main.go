// Command client calls the greeter with traces and a log line per call,
// then prints the server's metrics of the calls, read from /metrics on the
// same port.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/examples/observability"
	"github.com/h2rpc/h2rpc/stub"
)

var (
	addr = flag.String("addr", "127.0.0.1:50051", "the server's address")
	name = flag.String("name", "world", "the name to greet")
)

func main() {
	flag.Parse()
	l := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cc, err := stub.NewClient(*addr, append(observability.DialOptions(os.Stdout, l), stub.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := pb.NewGreeterClient(cc).SayHello(ctx, &pb.HelloRequest{Name: *name}, stub.StaticMethod())
	if err != nil {
		log.Fatalf("SayHello: %v (is the server running at %s?)", err, *addr)
	}
	fmt.Println(r.GetMessage())
	resp, err := http.Get("http://" + *addr + "/metrics")
	if err != nil {
		log.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "grpc_server_call_") && !strings.Contains(line, "_bucket") {
			fmt.Println(line)
		}
	}
}
