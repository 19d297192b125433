// Package keepalive defines the parameters of keepalive pings and
// connection management, with grpc-go's names: ClientParameters for
// stub.WithKeepaliveParams, ServerParameters for stub.KeepaliveParams and
// EnforcementPolicy for stub.KeepaliveEnforcementPolicy (gRFC A8, A9).
package keepalive
