package clusterdemo

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/channel/keepalive"
	pb "github.com/h2rpc/h2rpc/examples/helloworld/helloworld"
	"github.com/h2rpc/h2rpc/gossip"
	"github.com/h2rpc/h2rpc/gossip/agent"
	"github.com/h2rpc/h2rpc/gossip/announcer"
	"github.com/h2rpc/h2rpc/stub"
)

// ServerOptions configure one announced helloworld server.
type ServerOptions struct {
	// Name is the member name; it is also in every reply.
	Name string
	// RPC and Gossip are the addresses to listen on (port 0: any).
	RPC, Gossip string
	// Join lists gossip addresses to join.
	Join []string
	// Preset is the gossip preset: lan, wan or local.
	Preset string
	// LeaveWait is how long a graceful stop waits after leaving.
	LeaveWait time.Duration
	// LoadInterval is the least time between announcements of load alone.
	LoadInterval time.Duration
	// Busy goroutines spin without end, to slow the server down.
	Busy int
	// Work is how long each call spins before it answers, so that a busy
	// server answers more slowly.
	Work time.Duration
}

// greeter answers with the server's name.
type greeter struct {
	pb.UnimplementedGreeterServer
	name string
	work time.Duration
}

func (g greeter) SayHello(_ context.Context, in *pb.HelloRequest) (*pb.HelloReply, error) {
	spin(g.work)
	return &pb.HelloReply{Message: "Hello " + in.GetName() + " from " + g.name}, nil
}

// spin keeps a CPU busy for d (measured on the wall clock, so that it
// lasts longer when the CPU is shared).
func spin(d time.Duration) {
	if d <= 0 {
		return
	}
	x := 0
	for start := time.Now(); time.Since(start) < d; {
		for i := 0; i < 1000; i++ {
			x += i
		}
	}
	runtime.KeepAlive(x)
}

// RunServer serves until ctx is done, then stops gracefully: it leaves
// the cluster, waits LeaveWait, and drains. Once serving it writes one
// line to out: "ready NAME rpc=ADDR gossip=ADDR".
func RunServer(ctx context.Context, o ServerOptions, out io.Writer) error {
	cfg, err := agent.Preset(o.Preset)
	if err != nil {
		return err
	}
	if o.Name == "" {
		return errors.New("--name is required")
	}
	lis, err := net.Listen("tcp", o.RPC)
	if err != nil {
		return fmt.Errorf("listen on %s: %v (choose another --rpc)", o.RPC, err)
	}
	tr, err := gossip.NewNetTransport(gossip.NetConfig{Bind: o.Gossip, StreamTimeout: cfg.StreamTimeout})
	if err != nil {
		lis.Close()
		return fmt.Errorf("gossip on %s: %v (choose another --gossip)", o.Gossip, err)
	}
	cfg.Name = o.Name
	cfg.Transport = tr
	node, err := gossip.New(cfg)
	if err != nil {
		tr.Close()
		lis.Close()
		return err
	}
	defer node.Shutdown()
	load := announcer.NewLoad()
	// Clients with keepalive at its minimum (a ping after 10 s) are
	// welcome.
	opts := append(load.ServerOptions(), stub.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}))
	srv := stub.NewServer(opts...)
	pb.RegisterGreeterServer(srv, greeter{name: o.Name, work: o.Work})
	ann, err := announcer.Start(node, srv, announcer.Options{RPCAddr: lis.Addr().String(), Load: load, LeaveWait: o.LeaveWait, LoadInterval: o.LoadInterval})
	if err != nil {
		lis.Close()
		return err
	}
	defer ann.Close()
	for i := 0; i < o.Busy; i++ {
		go func() {
			for ctx.Err() == nil {
				spin(10 * time.Millisecond)
			}
		}()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	if len(o.Join) > 0 {
		if _, err := node.Join(o.Join); err != nil {
			srv.Stop()
			return fmt.Errorf("join %v: %v", o.Join, err)
		}
	}
	fmt.Fprintf(out, "ready %s rpc=%s gossip=%s\n", o.Name, lis.Addr(), node.Addr())
	select {
	case <-ctx.Done():
		srv.GracefulStop() // leaves the cluster first (announcer)
		<-served
		return nil
	case err := <-served:
		return err
	}
}

// ServerMain runs a server with the flags in args until SIGTERM or an
// interrupt, and returns the exit code: what h2rpc demo-server does.
func ServerMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o ServerOptions
	var join string
	fs.StringVar(&o.Name, "name", "", "member name (required)")
	fs.StringVar(&o.RPC, "rpc", "127.0.0.1:0", "address to serve RPCs on")
	fs.StringVar(&o.Gossip, "gossip", "127.0.0.1:0", "gossip address, UDP and TCP")
	fs.StringVar(&join, "join", "", "gossip addresses to join, comma-separated")
	fs.StringVar(&o.Preset, "preset", "lan", "gossip preset: lan, wan or local")
	fs.DurationVar(&o.LeaveWait, "leave-wait", time.Second, "how long a graceful stop waits after leaving, before it drains")
	fs.DurationVar(&o.LoadInterval, "load-interval", 10*time.Second, "least time between announcements of a change of load alone")
	fs.IntVar(&o.Busy, "busy", 0, "goroutines that spin without end, to slow the server")
	fs.DurationVar(&o.Work, "work", 0, "CPU time each call spins before it answers")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if join != "" {
		o.Join = strings.Split(join, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := RunServer(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "demo-server:", err)
		return 1
	}
	return 0
}
