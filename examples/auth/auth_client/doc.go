// Command auth_client calls the auth example's server as different
// callers and checks each outcome: no token (UNAUTHENTICATED), a wrong
// token (UNAUTHENTICATED), bob's token (SayHello allowed, SayHelloStream
// PERMISSION_DENIED), alice's token (both allowed), and, with --mtls, the
// client certificate alone (SayHello allowed). It exits non-zero when an
// outcome is not the expected one.
package main
