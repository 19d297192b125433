package clusterdemo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"time"

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
	srv := stub.NewServer(load.ServerOptions()...)
	pb.RegisterGreeterServer(srv, greeter{name: o.Name, work: o.Work})
	ann, err := announcer.Start(node, srv, announcer.Options{RPCAddr: lis.Addr().String(), Load: load, LeaveWait: o.LeaveWait})
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
