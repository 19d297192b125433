// Command greeter_server serves the helloworld Greeter service over h2c on
// 127.0.0.1. Once it listens, its first line of standard output is
// "listening on ADDRESS", the address it got: with --port=0 the system picks
// a free port, and scripts read it from that line.
package main
