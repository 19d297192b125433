// Package ecosystem tests h2rpc's health, reflection and credentials
// against the programs and the grpc-go code its users already have:
// grpcurl and grpc-health-probe (pinned, installed by the Makefile into
// .tools; the tests run `make ecosystem-env` to install and find them
// unless H2RPC_GRPCURL and H2RPC_HEALTH_PROBE name them), grpc-go's
// servers with reflection registered, grpc-go's health client and
// grpc-go's oauth credentials.
package ecosystem
