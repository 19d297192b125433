// Package clusterdemo runs helloworld servers that announce themselves
// through gossip, as separate processes, and a client that calls them
// through gossip:///helloworld.Greeter while servers are frozen, killed,
// stopped gracefully and started, measuring what each event cost the
// calls. It is what h2rpc demo and the process-level tests share.
package clusterdemo
