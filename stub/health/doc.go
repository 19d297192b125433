// Package health implements the gRPC health checking service
// (grpc.health.v1.Health) for h2rpc servers, with the API of grpc-go's
// package health: NewServer, SetServingStatus, Shutdown and Resume.
//
//	hs := health.NewServer()
//	healthpb.RegisterHealthServer(s, hs)
//	hs.SetServingStatus("helloworld.Greeter", healthpb.HealthCheckResponse_SERVING)
//
// A Server registered on a stub.Server reports NOT_SERVING for every service
// as soon as that server's GracefulStop begins, so that clients watching
// it move their calls elsewhere while it drains. The generated code is in
// package grpc_health_v1.
package health
