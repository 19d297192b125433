package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/h2rpc/h2rpc/bench/torture"
)

func init() {
	register("torture", "run the known HTTP/2 flood attacks against a server and tabulate what each cost it", runTorture)
}

// runTorture attacks --target with each flood in turn while a separate
// gRPC client calls it, and prints what every attack cost. The exit status
// is 0 once the run completed, whatever the server did (the table is the
// result); 1 when it could not run, or with --fail-on-open when a
// connection of an attack the server is expected to stop was never
// closed; 2 for bad flags.
func runTorture(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("torture", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg torture.Config
	fs.StringVar(&cfg.Target, "target", "", "the server to attack, HOST:PORT (required)")
	useTLS := fs.Bool("tls", false, "connect with TLS and ALPN h2 instead of h2c")
	skipVerify := fs.Bool("insecure-skip-verify", false, "with --tls, accept any server certificate")
	serverName := fs.String("server-name", "", "with --tls, the name sent in SNI and checked in the certificate (default: the target's host)")
	caFile := fs.String("ca-file", "", "with --tls, PEM roots to check the server's certificate against (default: the system's)")
	attacks := fs.String("attacks", "", "comma-separated attacks to run, in that order (default: all; see --list)")
	list := fs.Bool("list", false, "list the attacks and exit")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long each attack floods (default 5s)")
	fs.IntVar(&cfg.Connections, "connections", 0, "connections of the multi-connection attacks, zero-window (default 4) and slowloris (default 128)")
	fs.StringVar(&cfg.Path, "path", "", "method of the probe's calls and of the flood's requests (default /grpc.testing.TestService/EmptyCall)")
	fs.StringVar(&cfg.LargePath, "large-path", "", "method asked for 1 MiB responses (zero-window) and sent 4 MiB messages (small-data) (default /grpc.testing.TestService/UnaryCall)")
	fs.IntVar(&cfg.PID, "pid", 0, "pid of the server process, when local (Linux): report its RSS and CPU time per attack")
	fs.DurationVar(&cfg.Baseline, "baseline", 0, "how long the probe is measured before the attacks (default 1s)")
	fs.DurationVar(&cfg.Pause, "pause", 0, "rest between two attacks (default 1s)")
	fs.DurationVar(&cfg.ProbeInterval, "probe-interval", 0, "least time between the starts of two probe calls (default 10ms)")
	fs.DurationVar(&cfg.ProbeTimeout, "probe-timeout", 0, "a probe call not answered within this counts as a failure (default 2s)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	failOnOpen := fs.Bool("fail-on-open", false, "exit 1 if a connection of an attack the server is expected to stop (marked * in the table) was never closed")
	quiet := fs.Bool("quiet", false, "print no progress on stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: h2rpc torture --target HOST:PORT [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs each HTTP/2 flood attack against the server for --duration while a separate")
		fmt.Fprintln(stderr, "well-behaved gRPC client calls --path, and prints a table of what each cost it.")
		fmt.Fprintln(stderr, "Exit status: 0 when the run completed (whatever the server did), 1 when it could not")
		fmt.Fprintln(stderr, "run or, with --fail-on-open, when an abusive connection was never closed, 2 for bad flags.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		torture.WriteAttacks(stdout)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "torture: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if cfg.Target == "" {
		fmt.Fprintln(stderr, "torture: --target HOST:PORT is required")
		return 2
	}
	if !*useTLS && (*skipVerify || *serverName != "" || *caFile != "") {
		fmt.Fprintln(stderr, "torture: --insecure-skip-verify, --server-name and --ca-file need --tls")
		return 2
	}
	if *useTLS {
		t := &tls.Config{InsecureSkipVerify: *skipVerify, ServerName: *serverName}
		if *caFile != "" {
			pem, err := os.ReadFile(*caFile)
			if err != nil {
				fmt.Fprintf(stderr, "torture: %v\n", err)
				return 2
			}
			t.RootCAs = x509.NewCertPool()
			if !t.RootCAs.AppendCertsFromPEM(pem) {
				fmt.Fprintf(stderr, "torture: no PEM certificate in %s\n", *caFile)
				return 2
			}
		}
		cfg.TLS = t
	}
	if *attacks != "" {
		cfg.Attacks = strings.Split(*attacks, ",")
	}
	if !*quiet {
		cfg.OnResult = func(r torture.Result) {
			if r.Error != "" && len(r.Conns) == 0 {
				fmt.Fprintf(stderr, "torture: %s: not run: %s\n", r.Name, r.Error)
				return
			}
			fmt.Fprintf(stderr, "torture: %s: %d frames, closed %d/%d (%s), probe %.1f%% served\n",
				r.Name, r.FramesSent, r.Closed, len(r.Conns), r.Outcome, 100*r.Probe.OKRatio())
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := torture.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "torture: %v\n", err)
		var ce *torture.ConfigError
		if errors.As(err, &ce) {
			return 2
		}
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "torture: %v\n", err)
			return 1
		}
	} else if err := rep.WriteTable(stdout); err != nil {
		fmt.Fprintf(stderr, "torture: %v\n", err)
		return 1
	}
	if open := rep.LeftOpen(); *failOnOpen && len(open) > 0 {
		fmt.Fprintf(stderr, "torture: the server never closed connections of %s\n", strings.Join(open, ", "))
		return 1
	}
	return 0
}
