package gossip_test

import (
	"fmt"
	"sort"
	"time"

	"github.com/h2rpc/h2rpc/gossip"
)

// Three members on a simulated clock and network: two join the first, one
// offers a service, and a resolver-like caller lists who offers it.
func Example() {
	clock := gossip.NewSimClock(time.Unix(0, 0))
	network := gossip.NewMemNetwork(clock, 1, gossip.Conditions{Delay: time.Millisecond})
	var nodes []*gossip.Node
	for i, meta := range []map[string]string{
		nil,
		{gossip.MetaServices: "greeter", gossip.MetaRPCAddr: "10.0.0.2:50051"},
		nil,
	} {
		cfg := gossip.LAN()
		cfg.Name = fmt.Sprintf("node%d", i)
		cfg.Meta = meta
		cfg.Clock = clock
		cfg.Transport = network.Transport(cfg.Name)
		cfg.Seed = int64(i + 1)
		n, err := gossip.New(cfg)
		if err != nil {
			panic(err)
		}
		if i > 0 {
			n.JoinAsync([]string{"node0"}, nil)
		}
		nodes = append(nodes, n)
	}
	clock.RunFor(5 * time.Second)

	var names []string
	for _, m := range nodes[0].Members() {
		names = append(names, m.Name+"="+m.State.String())
	}
	sort.Strings(names)
	fmt.Println(names)
	for _, m := range nodes[2].Offering("greeter") {
		fmt.Println("greeter at", m.RPCAddr())
	}
	for _, n := range nodes {
		n.Shutdown()
	}
	// Output:
	// [node0=alive node1=alive node2=alive]
	// greeter at 10.0.0.2:50051
}
