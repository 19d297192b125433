// Package otelh2rpc instruments h2rpc clients and servers with
// OpenTelemetry: traces whose context travels in the W3C traceparent
// header, with span names and attributes as the OpenTelemetry RPC semantic
// conventions give them (the ones otelgrpc records), and the standard gRPC
// metrics of gRFC A66 (the ones google.golang.org/grpc/stats/opentelemetry
// records), with their names, units, labels and histogram buckets.
//
// A client takes DialOptions, a server ServerOptions:
//
//	cc, err := stub.NewClient(target, otelh2rpc.DialOptions()...)
//	h := otelh2rpc.NewServerHandler()
//	srv := stub.NewServer(stub.StatsHandler(h))
//	h.SetServer(srv) // names registered methods in metrics; others are "other"
//
// It lives in a module of its own, so that h2rpc's core module depends on
// nothing of OpenTelemetry.
package otelh2rpc
