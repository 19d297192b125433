package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/interop"
	"github.com/h2rpc/h2rpc/stub"
)

func init() {
	register("interop-client", "run gRPC interop test cases against a server (flags as grpc-go's interop client)", runInteropClient)
}

// interopClientFlags are the flags of grpc-go's interop client. Those that
// need Google credentials, ALTS or xDS are accepted so that harnesses can
// pass them, and ignored; setting one that would change what is tested
// (--use_alts, --custom_credentials_type) is an error.
type interopClientFlags struct {
	serverHost, serverHostOverride string
	serverPort                     int
	testCase                       string
	useTLS, useTestCA              bool
	caFile                         string
	additionalMetadata             string
	soak                           struct {
		iterations, maxFailures, perIterationMaxLatencyMs int
		overallTimeoutSeconds, minTimeMsBetweenRPCs       int
		requestSize, responseSize, numThreads             int
	}
	// Accepted and ignored.
	useALTS                                                  bool
	customCredentialsType, altsHandshakerServiceAddress      string
	serviceAccountKeyFile, oauthScope, defaultServiceAccount string
	googleC2PUniverseDomain, serviceConfigJSON               string
}

func runInteropClient(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("interop-client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f interopClientFlags
	fs.StringVar(&f.serverHost, "server_host", "localhost", "the server host to connect to")
	fs.IntVar(&f.serverPort, "server_port", 10000, "the server port to connect to (0: none, --server_host is the whole target)")
	fs.StringVar(&f.serverHostOverride, "server_host_override", "", "the server name to verify the TLS certificate against and to send as :authority (default --server_host)")
	fs.StringVar(&f.testCase, "test_case", "large_unary", "the cases to run: a comma-separated list of "+strings.Join(interop.CaseNames(), ", ")+"; or all")
	fs.BoolVar(&f.useTLS, "use_tls", false, "connect with TLS")
	fs.BoolVar(&f.useTestCA, "use_test_ca", false, "trust only the test CA (h2rpc's own unless --ca_file names another) instead of the system roots")
	fs.StringVar(&f.caFile, "ca_file", "", "PEM file of the CA to trust with --use_test_ca")
	fs.StringVar(&f.additionalMetadata, "additional_metadata", "", "metadata to send with every call, as key:value pairs separated by semicolons")
	fs.IntVar(&f.soak.iterations, "soak_iterations", 10, "iterations of rpc_soak and channel_soak")
	fs.IntVar(&f.soak.maxFailures, "soak_max_failures", 0, "iterations of a soak case that may fail (error or over the latency limit)")
	fs.IntVar(&f.soak.perIterationMaxLatencyMs, "soak_per_iteration_max_acceptable_latency_ms", 1000, "latency above which a soak iteration counts as failed, in milliseconds")
	fs.IntVar(&f.soak.overallTimeoutSeconds, "soak_overall_timeout_seconds", 10, "time a soak case may take in all, in seconds")
	fs.IntVar(&f.soak.minTimeMsBetweenRPCs, "soak_min_time_ms_between_rpcs", 0, "least time between the starts of two soak iterations of one thread, in milliseconds")
	fs.IntVar(&f.soak.requestSize, "soak_request_size", 271828, "request payload size of the soak iterations")
	fs.IntVar(&f.soak.responseSize, "soak_response_size", 314159, "response payload size of the soak iterations")
	fs.IntVar(&f.soak.numThreads, "soak_num_threads", 1, "concurrent workers of a soak case; they share the iterations")
	const ignored = " (accepted for compatibility with grpc-go's interop client; ignored)"
	fs.BoolVar(&f.useALTS, "use_alts", false, "connect with ALTS (not supported: must be false)")
	fs.StringVar(&f.customCredentialsType, "custom_credentials_type", "", "Google credentials to connect with (not supported: must be empty)")
	fs.StringVar(&f.altsHandshakerServiceAddress, "alts_handshaker_service_address", "", "ALTS handshaker address"+ignored)
	fs.StringVar(&f.serviceAccountKeyFile, "service_account_key_file", "", "service account key file"+ignored)
	fs.StringVar(&f.oauthScope, "oauth_scope", "", "OAuth scope"+ignored)
	fs.StringVar(&f.defaultServiceAccount, "default_service_account", "", "GCE default service account"+ignored)
	fs.StringVar(&f.googleC2PUniverseDomain, "google_c2p_universe_domain", "", "universe domain of the google-c2p resolver"+ignored)
	fs.StringVar(&f.serviceConfigJSON, "service_config_json", "", "default service config"+ignored)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "interop-client: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if f.useALTS || f.customCredentialsType != "" {
		fmt.Fprintln(stderr, "interop-client: ALTS and Google credentials are not supported; use --use_tls or plaintext")
		return 2
	}
	cases, err := selectCases(f.testCase)
	if err != nil {
		fmt.Fprintf(stderr, "interop-client: %v\n", err)
		return 2
	}
	md, err := parseAdditionalMetadata(f.additionalMetadata)
	if err != nil {
		fmt.Fprintf(stderr, "interop-client: --additional_metadata: %v\n", err)
		return 2
	}
	dial, err := interopDialer(&f)
	if err != nil {
		fmt.Fprintf(stderr, "interop-client: %v\n", err)
		return 2
	}

	conn, closeConn, err := dial.stubConn()
	if err != nil {
		fmt.Fprintf(stderr, "interop-client: connecting to %s: %v\n", dial.target, err)
		return 1
	}
	defer closeConn()
	ch, err := dial.channelConn()
	if err != nil {
		fmt.Fprintf(stderr, "interop-client: connecting to %s: %v\n", dial.target, err)
		return 1
	}
	defer ch.Close()
	client := &interop.Client{
		Conn:    conn,
		Channel: ch,
		NewConn: dial.stubConn,
		Soak: interop.SoakConfig{
			Iterations:                       f.soak.iterations,
			MaxFailures:                      f.soak.maxFailures,
			PerIterationMaxAcceptableLatency: time.Duration(f.soak.perIterationMaxLatencyMs) * time.Millisecond,
			OverallTimeout:                   time.Duration(f.soak.overallTimeoutSeconds) * time.Second,
			MinTimeBetweenRPCs:               time.Duration(f.soak.minTimeMsBetweenRPCs) * time.Millisecond,
			NumWorkers:                       f.soak.numThreads,
			RequestSize:                      f.soak.requestSize,
			ResponseSize:                     f.soak.responseSize,
		},
		Log: stderr,
	}
	ctx := context.Background()
	if md != nil {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	failed := 0
	for _, c := range cases {
		start := time.Now()
		err := c.Run(ctx, client)
		took := time.Since(start).Round(time.Millisecond)
		if err != nil {
			failed++
			fmt.Fprintf(stderr, "FAIL %s (%v): %v\n", c.Name, took, err)
			continue
		}
		fmt.Fprintf(stdout, "PASS %s (%v)\n", c.Name, took)
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "interop-client: %d of %d cases failed against %s\n", failed, len(cases), dial.target)
		return 1
	}
	return 0
}

// selectCases resolves --test_case.
func selectCases(list string) ([]interop.Case, error) {
	if list == "all" {
		return interop.Cases(), nil
	}
	var cases []interop.Case
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		c, ok := interop.LookupCase(name)
		if !ok {
			return nil, fmt.Errorf("unknown --test_case %q; known cases: %s, or all", name, strings.Join(interop.CaseNames(), ", "))
		}
		cases = append(cases, c)
	}
	return cases, nil
}

// parseAdditionalMetadata parses "k1:v1;k2:v2"; values may hold colons.
func parseAdditionalMetadata(s string) (metadata.MD, error) {
	if s == "" {
		return nil, nil
	}
	md := metadata.MD{}
	for _, kv := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key:value", kv)
		}
		md.Append(strings.ToLower(k), v)
	}
	return md, nil
}

// interopDial holds how to connect to the server under test.
type interopDial struct {
	target    string
	authority string
	creds     credentials.TransportCredentials
}

func interopDialer(f *interopClientFlags) (*interopDial, error) {
	d := &interopDial{target: f.serverHost}
	if f.serverPort != 0 {
		d.target = net.JoinHostPort(f.serverHost, strconv.Itoa(f.serverPort))
	}
	if !f.useTLS {
		if f.useTestCA || f.caFile != "" {
			return nil, errors.New("--use_test_ca and --ca_file need --use_tls")
		}
		d.creds = insecure.NewCredentials()
		if f.serverHostOverride != "" {
			d.authority = f.serverHostOverride
		}
		return d, nil
	}
	var roots *x509.CertPool // nil: the system roots
	if f.useTestCA {
		if f.caFile == "" {
			roots = interop.TestCertPool()
		} else {
			pem, err := os.ReadFile(f.caFile)
			if err != nil {
				return nil, fmt.Errorf("--ca_file: %v", err)
			}
			roots = x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca_file: no PEM certificate in %s", f.caFile)
			}
		}
	} else if f.caFile != "" {
		return nil, errors.New("--ca_file is used only with --use_test_ca (as in grpc-go's interop client)")
	}
	d.creds = credentials.NewClientTLSFromCert(roots, f.serverHostOverride)
	if f.serverHostOverride != "" {
		d.authority = f.serverHostOverride
	}
	return d, nil
}

func (d *interopDial) channelOptions() []channel.DialOption {
	opts := []channel.DialOption{channel.WithTransportCredentials(d.creds)}
	if d.authority != "" {
		opts = append(opts, channel.WithAuthority(d.authority))
	}
	return opts
}

// channelConn opens a byte-level connection, which the compression cases
// use.
func (d *interopDial) channelConn() (*channel.ClientConn, error) {
	return channel.NewClient(d.target, d.channelOptions()...)
}

// stubConn opens a typed connection.
func (d *interopDial) stubConn() (stub.ClientConnInterface, func(), error) {
	opts := []stub.DialOption{stub.WithTransportCredentials(d.creds)}
	if d.authority != "" {
		opts = append(opts, stub.WithAuthority(d.authority))
	}
	cc, err := stub.NewClient(d.target, opts...)
	if err != nil {
		return nil, nil, err
	}
	return cc, func() { cc.Close() }, nil
}
