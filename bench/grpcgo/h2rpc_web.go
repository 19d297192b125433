package grpcgo

import (
	"net/http"
	"os"

	"github.com/h2rpc/h2rpc/stub"
)

// CompareWebEnv names the environment variable that, set to 1, makes the
// h2rpc server of the benchmarks also serve a fallback HTTP handler and
// gRPC-Web on its port, to show that plain gRPC calls cost the same.
const CompareWebEnv = "H2RPC_COMPARE_WEB"

// h2rpcServerOptions are the options of the benchmarks' h2rpc server.
func h2rpcServerOptions() []stub.ServerOption {
	if os.Getenv(CompareWebEnv) != "1" {
		return nil
	}
	return []stub.ServerOption{
		stub.WithHTTPHandler(http.NotFoundHandler()),
		stub.WithGRPCWeb(stub.WebOptions{AllowedOrigins: []string{"*"}}),
	}
}
