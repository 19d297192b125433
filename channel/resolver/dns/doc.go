// Package dns implements the "dns" resolver, which follows a host name's A
// and AAAA records, the default resolver of gRPC targets.
//
// Targets are dns:///host[:port], resolved with the system's resolver, and
// dns://server[:port]/host[:port], resolved by asking the DNS server at
// server (port 53 by default). The port of the addresses is the target's,
// 443 when it names none. An IP address is its own resolution: no query is
// sent for it.
//
// A resolver resolves once when it is built and again when the channel
// calls ResolveNow, but no sooner than the minimum resolution interval (30
// seconds, SetMinResolutionInterval) after its last success. A failed
// lookup is reported to the channel with ReportError; after one, or after
// a state the channel rejected, the resolver resolves again after an
// exponential backoff, without waiting for ResolveNow. A name that does not exist (NXDOMAIN) or has no A or AAAA
// records is such a failure; the addresses of a success come in the order
// package net sorts them (RFC 6724).
//
// Service configs published in TXT records (_grpc_config.host) are not
// read yet: the states the resolver pushes carry no service config. SRV
// records (grpclb) are not read either.
package dns
