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
// Each resolution also looks up the TXT records of _grpc_config.host, at
// the same time as the addresses, for a service config published as gRFC
// A2 describes: a record whose text (its strings joined) is
// "grpc_config=" and a JSON array of choices, each a "serviceConfig"
// object with optional criteria, "clientLanguage" (a list that must hold
// "go", in any case), "clientHostname" (a list that must hold
// os.Hostname()) and "percentage" (0 to 100: the share of resolvers, each
// drawing its number once, that take the choice). The first choice whose
// criteria all hold is the state's service config, parsed by the
// channel's ParseServiceConfig; a record that is no valid array of valid
// choices (a choice with a field of another name is not valid) gives a
// ParseResult with an error, and the channel keeps the config it has.
// Other records are ignored, and of several grpc_config records the first
// is read. When no choice applies, or the TXT lookup fails in any way
// (no such name, a timeout), the state has no service config; it never
// fails the resolution. No TXT query is sent with
// BuildOptions.DisableServiceConfig, nor for localhost and the names
// under it, which RFC 6761 keeps off DNS servers. SRV records (grpclb)
// are not read.
package dns
