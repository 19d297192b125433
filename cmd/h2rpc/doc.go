// Command h2rpc is the h2rpc command line: interop programs, the gossip
// simulator and agent, and the tools built on the library, among them
// `h2rpc torture`, which runs the known HTTP/2 flood attacks against a
// server and tabulates what each cost it.
//
// h2rpc interop-server prints "listening on ADDRESS" as its first line of
// standard output once it listens, so that a script can start it with
// --port=0 (any free port) and read the port it got from that line.
package main
