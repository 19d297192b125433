package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/internal/clusterdemo"
)

func init() {
	register("demo", "a one-minute tour: servers found, balanced and dropped through gossip", runDemo)
	register("demo-server", "one announced helloworld server, as the demo starts them", runDemoServer)
}

func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print only the closing table, as a JSON array (the tour goes to standard error)")
	preset := fs.String("preset", "lan", "gossip preset of every member: lan, wan or local")
	phase := fs.Duration("phase", 10*time.Second, "time between events")
	rate := fs.Int("rate", 200, "calls per second")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "h2rpc demo: cannot find its own program to start servers:", err)
		return 1
	}
	o := clusterdemo.DemoOptions{
		Launch: func(flags ...string) *exec.Cmd {
			return exec.Command(exe, append([]string{"demo-server"}, flags...)...)
		},
		Preset: *preset, Phase: *phase, Rate: *rate, Out: stdout,
	}
	if *asJSON {
		o.Out, o.JSON = stderr, stdout
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := clusterdemo.RunDemo(ctx, o); err != nil {
		fmt.Fprintln(stderr, "h2rpc demo:", err)
		return 1
	}
	return 0
}

func runDemoServer(args []string, stdout, stderr io.Writer) int {
	return clusterdemo.ServerMain(args, stdout, stderr)
}
