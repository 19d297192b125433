// Command h2rpc-bench-grpcgo runs a workload of `h2rpc bench` with
// grpc-go's client under the same generator (package bench), so that
// `h2rpc bench --compare grpc-go` measures the client stacks and nothing
// else. It reads the run as a JSON bench.Spec (-spec) and writes the
// report as `h2rpc bench -O json` does.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/h2rpc/h2rpc/bench"
	"github.com/h2rpc/h2rpc/bench/grpcgo"
)

func main() {
	specJSON := flag.String("spec", "", "the run, a JSON bench.Spec (required)")
	flag.Parse()
	if *specJSON == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: h2rpc-bench-grpcgo -spec JSON")
		os.Exit(2)
	}
	var spec bench.Spec
	if err := json.Unmarshal([]byte(*specJSON), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "h2rpc-bench-grpcgo: -spec: %v\n", err)
		os.Exit(2)
	}
	cfg, err := spec.Config()
	if err != nil {
		fmt.Fprintf(os.Stderr, "h2rpc-bench-grpcgo: %v\n", err)
		os.Exit(2)
	}
	tlsCfg, err := spec.TLSConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "h2rpc-bench-grpcgo: %v\n", err)
		os.Exit(2)
	}
	tr, err := grpcgo.NewBenchTransport(spec.Target, spec.Connections, tlsCfg, spec.Metadata)
	if err != nil {
		fmt.Fprintf(os.Stderr, "h2rpc-bench-grpcgo: %v\n", err)
		os.Exit(1)
	}
	defer tr.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, tr, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "h2rpc-bench-grpcgo: %v\n", err)
		os.Exit(1)
	}
	opts := bench.Options{Call: spec.Call, Target: spec.Target, Kind: spec.Kind, Concurrency: spec.Concurrency,
		Connections: spec.Connections, Rate: spec.Rate, Insecure: spec.Insecure, Client: "grpc-go"}
	if err := bench.NewReport(res, opts, runtime.GOMAXPROCS(0)).WriteJSON(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "h2rpc-bench-grpcgo: %v\n", err)
		os.Exit(1)
	}
}
