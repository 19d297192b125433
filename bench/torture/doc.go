// Package torture runs the known HTTP/2 flood attacks against an HTTP/2
// server and measures what each costs it: how fast the attacker could send,
// whether and how the server closed the abusive connections, how a separate
// well-behaved gRPC client fared meanwhile, and, for a local process, its
// memory and CPU time.
package torture
