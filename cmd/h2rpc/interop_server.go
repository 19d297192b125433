package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/interop"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
	"github.com/h2rpc/h2rpc/stub"
	"github.com/h2rpc/h2rpc/stub/health"
	healthpb "github.com/h2rpc/h2rpc/stub/health/grpc_health_v1"
	"github.com/h2rpc/h2rpc/stub/reflection"
)

func init() {
	register("interop-server", "serve the grpc.testing interop service (flags as grpc-go's interop server)", runInteropServer)
}

// runInteropServer serves grpc.testing.TestService. Its flags are those of
// grpc-go's interop server plus --host; --use_alts and
// --alts_handshaker_service_address are accepted for harnesses and ALTS is
// refused. It also serves grpc.health.v1.Health (the server and
// grpc.testing.TestService SERVING until it stops) and server reflection
// (v1 and v1alpha), for grpcurl and health probes. Requests that are not
// gRPC get HTTP answers (405, 415). Once it
// listens, its first line of standard output is "listening on ADDRESS",
// the address it got (with --port=0, a free port the system picked).
func runInteropServer(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("interop-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 10000, "the port to listen on (0: any free port; the first line of standard output says which)")
	host := fs.String("host", "127.0.0.1", "the address to listen on (\"\" or 0.0.0.0: every interface, as grpc-go's interop server)")
	useTLS := fs.Bool("use_tls", false, "serve TLS (ALPN h2) instead of h2c")
	certFile := fs.String("tls_cert_file", "", "PEM certificate chain for --use_tls (default: h2rpc's test certificate for *.test.google.fr)")
	keyFile := fs.String("tls_key_file", "", "PEM private key of --tls_cert_file")
	useALTS := fs.Bool("use_alts", false, "serve ALTS (not supported: must be false)")
	fs.String("alts_handshaker_service_address", "", "ALTS handshaker address (accepted for compatibility with grpc-go's interop server; ignored)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "interop-server: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *useALTS {
		fmt.Fprintln(stderr, "interop-server: ALTS is not supported; use --use_tls or plaintext")
		return 2
	}
	var opts []stub.ServerOption
	transport := "h2c"
	if *useTLS {
		var creds credentials.TransportCredentials
		switch {
		case *certFile == "" && *keyFile == "":
			cert := interop.TestServerCertificate()
			creds = credentials.NewServerTLSFromCert(&cert)
		case *certFile == "" || *keyFile == "":
			fmt.Fprintln(stderr, "interop-server: give both --tls_cert_file and --tls_key_file, or neither for the test certificate")
			return 2
		default:
			var err error
			if creds, err = credentials.NewServerTLSFromFile(*certFile, *keyFile); err != nil {
				fmt.Fprintf(stderr, "interop-server: %v\n", err)
				return 2
			}
		}
		opts = append(opts, stub.Creds(creds))
		transport = "TLS"
	} else if *certFile != "" || *keyFile != "" {
		fmt.Fprintln(stderr, "interop-server: --tls_cert_file and --tls_key_file need --use_tls")
		return 2
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(stderr, "interop-server: %v (is another server using port %d? pick another with --port)\n", err, *port)
		return 1
	}
	hostname, _ := os.Hostname()
	srv := stub.NewServer(opts...)
	pb.RegisterTestServiceServer(srv, interop.NewTestServer(interop.ServerOptions{Hostname: hostname}))
	hs := health.NewServer()
	hs.SetServingStatus(pb.TestService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	fmt.Fprintf(stderr, "interop-server: serving grpc.testing.TestService, health and reflection over %s\n", transport)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		fmt.Fprintf(stderr, "interop-server: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	// Finish the calls in progress, for a while.
	done := make(chan struct{})
	go func() { srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		srv.Stop()
	}
	return 0
}
