package main

import (
	"context"
	"crypto/tls"
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
)

func init() {
	register("interop-server", "serve the grpc.testing interop service (flags as grpc-go's interop server)", runInteropServer)
}

// runInteropServer serves grpc.testing.TestService. Its flags are those of
// grpc-go's interop server plus --host; --use_alts and
// --alts_handshaker_service_address are accepted for harnesses and ALTS is
// refused. Requests that are not gRPC get HTTP answers (405, 415); with
// --grpc_web, gRPC-Web is served too, and GET / answers a page about the
// server. --serve_http serves through net/http with the service mounted
// by Server.ServeHTTP. Once it
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
	grpcWeb := fs.Bool("grpc_web", false, "serve gRPC-Web (binary and text, CORS for any origin) beside gRPC, and GET / with a page about the server, over HTTP/1.1 and HTTP/2")
	serveHTTP := fs.Bool("serve_http", false, "serve through net/http's server, the service mounted with Server.ServeHTTP (h2c beside HTTP/1.1, or TLS), instead of Serve")
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
	var cert *tls.Certificate
	if *useTLS {
		switch {
		case *certFile == "" && *keyFile == "":
			c := interop.TestServerCertificate()
			cert = &c
		case *certFile == "" || *keyFile == "":
			fmt.Fprintln(stderr, "interop-server: give both --tls_cert_file and --tls_key_file, or neither for the test certificate")
			return 2
		default:
			c, err := tls.LoadX509KeyPair(*certFile, *keyFile)
			if err != nil {
				fmt.Fprintf(stderr, "interop-server: %v\n", err)
				return 2
			}
			cert = &c
		}
		opts = append(opts, stub.Creds(credentials.NewServerTLSFromCert(cert)))
		transport = "TLS"
	} else if *certFile != "" || *keyFile != "" {
		fmt.Fprintln(stderr, "interop-server: --tls_cert_file and --tls_key_file need --use_tls")
		return 2
	}
	if *grpcWeb {
		opts = append(opts, stub.WithGRPCWeb(webOptions()), stub.WithHTTPHandler(interopPage(transport, true)))
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(stderr, "interop-server: %v (is another server using port %d? pick another with --port)\n", err, *port)
		return 1
	}
	hostname, _ := os.Hostname()
	srv := stub.NewServer(opts...)
	pb.RegisterTestServiceServer(srv, interop.NewTestServer(interop.ServerOptions{Hostname: hostname}))
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	fmt.Fprintf(stderr, "interop-server: serving grpc.testing.TestService over %s\n", transport)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	served := make(chan error, 1)
	if *serveHTTP {
		hs := serveHTTPMounted(srv, cert)
		go func() {
			if cert != nil {
				served <- hs.ServeTLS(ln, "", "")
			} else {
				served <- hs.Serve(ln)
			}
		}()
		select {
		case err := <-served:
			fmt.Fprintf(stderr, "interop-server: %v\n", err)
			return 1
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if hs.Shutdown(sctx) != nil {
			hs.Close()
		}
		return 0
	}
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
