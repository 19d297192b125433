package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/gossip/agent"
	"github.com/h2rpc/h2rpc/gossip/sim"
)

func init() {
	register("gossip", "SWIM membership: 'gossip sim' and 'gossip agent'", runGossip)
}

func runGossip(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "usage: h2rpc gossip sim [flags]    simulate a cluster and print figures")
		fmt.Fprintln(stderr, "       h2rpc gossip agent [flags]  run a member over UDP/TCP and print events")
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "sim":
		return gossipSim(args[1:], stdout, stderr)
	case "agent":
		return gossipAgent(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "h2rpc gossip: unknown subcommand %q; want sim or agent\n", args[0])
	return 2
}

func gossipSim(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gossip sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s sim.Scenario
	fs.IntVar(&s.Nodes, "nodes", 256, "cluster size")
	fs.Float64Var(&s.Loss, "loss", 0, "packet loss probability, 0 to 1")
	fs.IntVar(&s.Kill, "kill", 1, "members killed once the cluster has converged")
	fs.DurationVar(&s.LoadEvery, "load-every", 0, "every member but the clients changes its announced load this often (0: never), to show what announcing costs")
	fs.IntVar(&s.Clients, "clients", 0, "members that only watch, as gossip:/// clients: never killed; the time until each drops a killed member is reported")
	fs.IntVar(&s.Slow, "slow", 0, "members whose message handling is delayed by --slow-delay")
	fs.DurationVar(&s.SlowDelay, "slow-delay", 2*time.Second, "delay of every message at a slow member")
	fs.BoolVar(&s.Lifeguard, "lifeguard", true, "Lifeguard extensions on or off")
	fs.DurationVar(&s.Duration, "duration", 60*time.Second, "simulated time, the mass join included")
	fs.Int64Var(&s.Seed, "seed", 1, "random seed; the same seed replays the same run")
	fs.BoolVar(&s.Warm, "warm", false, "start with a full view everywhere instead of a mass join")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	progress := fs.Bool("progress", false, "print the spread of view sizes every simulated second of the join")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memLimit := fs.Int64("memory-limit", 12<<30, "soft heap limit in bytes for runs of 2,000 members or more")
	memProfile := fs.String("memprofile", "", "write a heap profile at the end of the join to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "h2rpc gossip sim:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "h2rpc gossip sim:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if s.Nodes >= 2000 && os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// Thousands of full views are a large, long-lived heap: collect
		// less often, but within a bound (GOGC and GOMEMLIMIT override).
		debug.SetGCPercent(300)
		debug.SetMemoryLimit(*memLimit)
	}
	if *progress {
		s.Progress = stderr
	}
	if *memProfile != "" {
		s.AfterJoin = func() {
			f, err := os.Create(*memProfile)
			if err != nil {
				fmt.Fprintln(stderr, "h2rpc gossip sim:", err)
				return
			}
			defer f.Close()
			pprof.WriteHeapProfile(f)
		}
	}
	res, err := sim.Run(s)
	if err != nil {
		fmt.Fprintln(stderr, "h2rpc gossip sim:", err)
		return 2
	}
	if err := res.Print(stdout, *asJSON); err != nil {
		return 1
	}
	return 0
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func gossipAgent(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gossip agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o agent.Options
	var join string
	var meta multiFlag
	fs.StringVar(&o.Bind, "bind", "127.0.0.1:7946", "UDP and TCP address to bind, host:port")
	fs.StringVar(&join, "join", "", "comma-separated addresses of members to join")
	fs.StringVar(&o.Name, "name", "", "member name (default: the bound address)")
	fs.Var(&meta, "meta", "metadata key=value, repeatable; key=value words after the flags count too\n(e.g. --meta rpc=127.0.0.1:50051 services=greeter,echo)")
	fs.StringVar(&o.Label, "label", "", "cluster label; members with another label are ignored")
	fs.StringVar(&o.KeyringFile, "keyring", "", "file of base64 AES-256 keys, primary first; reread on SIGHUP")
	fs.StringVar(&o.Preset, "preset", "lan", "timing preset: lan, wan or local")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if join != "" {
		o.Join = strings.Split(join, ",")
	}
	// "--meta a=1 b=2": further key=value words after the flags are
	// metadata too.
	for _, a := range fs.Args() {
		if !strings.Contains(a, "=") {
			fmt.Fprintf(stderr, "h2rpc gossip agent: unexpected argument %q; metadata is key=value\n", a)
			return 2
		}
		meta = append(meta, a)
	}
	var err error
	if o.Meta, err = agent.ParseMeta(meta); err != nil {
		fmt.Fprintln(stderr, "h2rpc gossip agent:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-hup:
				select {
				case reload <- struct{}{}:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	o.Out = stdout
	o.Reload = reload
	if err := agent.Run(ctx, o); err != nil {
		fmt.Fprintln(stderr, "h2rpc gossip agent:", err)
		return 1
	}
	return 0
}
