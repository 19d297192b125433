// Package stats reports what happens to calls and connections, as grpc-go's
// stats package does and with its names: a Handler registered on a client
// (stub.WithStatsHandler) or a server (stub.StatsHandler) is told of every
// call attempt (TagRPC, then HandleRPC with Begin, OutHeader, OutPayload,
// InHeader, InPayload, InTrailer, OutTrailer and End) and of every
// connection (TagConn, then HandleConn with ConnBegin and ConnEnd).
//
// On the client each attempt of a call is reported as a call of its own,
// from TagRPC to End: a call retried or hedged under gRFC A6 shows as
// several attempts of one call, as in grpc-go. Sizes are those on the wire:
// Length is the message, CompressedLength the message as sent (compressed
// or not), WireLength that plus the 5-byte prefix. The WireLength of a
// header list is its size as HTTP/2 counts it (RFC 9113 section 6.5.2:
// each field's name and value plus 32), which does not depend on the HPACK
// state of the connection.
//
// OutPayload reports every message handed to the connection, even one
// whose stream ended while it was being sent (as grpc-go, whose writes
// only queue, reports it). The channel layer carries messages as bytes, so
// Payload is always nil.
// A streaming call reports its End when its end is read (RecvMsg returns
// its status); one abandoned by cancelling its context and never read
// again does not report it.
//
// With no handler registered, a call does no work for stats beyond a nil
// check.
package stats
