// Command h2rpc is the h2rpc command line: interop programs, the gossip
// simulator and agent, and the tools built on the library.
package main
