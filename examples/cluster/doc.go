// Package cluster shows RPC over gossip: cluster_server serves the
// helloworld Greeter and announces itself in a gossip cluster;
// cluster_client calls gossip:///helloworld.Greeter and reaches whichever
// servers are alive, learning of joins, failures and departures from
// gossip. Run a few servers and a client in separate terminals:
//
//	cluster_server --rpc 127.0.0.1:50051 --gossip 127.0.0.1:7946
//	cluster_server --rpc 127.0.0.1:50052 --gossip 127.0.0.1:7947 --join 127.0.0.1:7946
//	cluster_client --gossip 127.0.0.1:7950 --join 127.0.0.1:7946
//
// then stop a server with Ctrl-C (it leaves first), kill one, or start
// another, and watch the client's replies follow.
package cluster
