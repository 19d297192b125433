// Command h2rpc is the h2rpc command line: interop programs, the gossip
// simulator and agent, and the tools built on the library, among them
// `h2rpc torture`, which runs the known HTTP/2 flood attacks against a
// server and tabulates what each cost it.
package main
