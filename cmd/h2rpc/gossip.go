package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"time"

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
	fs.IntVar(&s.Slow, "slow", 0, "members whose message handling is delayed by --slow-delay")
	fs.DurationVar(&s.SlowDelay, "slow-delay", 2*time.Second, "delay of every message at a slow member")
	fs.BoolVar(&s.Lifeguard, "lifeguard", true, "Lifeguard extensions on or off")
	fs.DurationVar(&s.Duration, "duration", 60*time.Second, "simulated time, the mass join included")
	fs.Int64Var(&s.Seed, "seed", 1, "random seed; the same seed replays the same run")
	fs.BoolVar(&s.Warm, "warm", false, "start with a full view everywhere instead of a mass join")
	asJSON := fs.Bool("json", false, "print the figures as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
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
	if s.Nodes >= 2000 {
		// Thousands of full views are a large, long-lived heap: collect
		// less often.
		debug.SetGCPercent(400)
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

func gossipAgent(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "h2rpc gossip agent: not built yet")
	return 1
}
