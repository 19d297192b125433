package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/bench"
)

func init() {
	register("bench", "load-test any gRPC server (ghz's flags): latency histograms, calls/s, errors, wire counters, HTML report", runBench)
}

// benchFlags are the flags of h2rpc bench, named as ghz names them where
// ghz has them.
type benchFlags struct {
	call, proto, importPaths, protoset     string
	data, dataFile, metadata, token        string
	payloadSize                            int
	concurrency, connections               int
	total                                  uint64
	duration, warmup, timeout, connTimeout time.Duration
	rps                                    float64
	loop                                   string
	loadSchedule                           string
	loadStart, loadEnd, loadStep           float64
	loadStepDur, loadMaxDur                time.Duration
	concSchedule                           string
	concStart, concEnd, concStep           float64
	concStepDur, concMaxDur                time.Duration
	insecure, skipTLS                      bool
	cacert, cert, key, cname, authority    string
	format, output, html                   string
	cpus                                   int
	skipFirst                              uint64
	streamInterval, streamDur              time.Duration
	streamCount                            int
	noWire, quiet                          bool
	lateAfter, interval                    time.Duration
	compare, serve, ghz, grpcgoClient      string
	grpcgoServer                           string
	rounds                                 int

	target  string          // the last argument
	set     map[string]bool // flags given
	rawArgs []string        // as given, for child runs

	// Found by workload.
	files      *bench.Files
	methodKind bench.Kind
	methodPath string
}

func (f *benchFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.call, "call", "", "the method to call, package.Service.Method or package.Service/Method (required)")
	fs.StringVar(&f.proto, "proto", "", "the .proto file(s) of the service, comma-separated (compiled with protoc)")
	fs.StringVar(&f.importPaths, "import-paths", "", "comma-separated directories where --proto files and their imports are found")
	fs.StringVar(&f.protoset, "protoset", "", "a compiled FileDescriptorSet (protoc --descriptor_set_out --include_imports)")
	fs.StringVar(&f.data, "d", "", "the request as JSON: an object, an array of objects (sent in turn) or one object per line")
	fs.StringVar(&f.dataFile, "D", "", "a file holding the request JSON (object, array or JSON lines)")
	fs.IntVar(&f.payloadSize, "payload-size", -1, "instead of -d: a grpc.testing request carrying and asking for this many payload bytes")
	fs.StringVar(&f.metadata, "m", "", `request metadata as a JSON object, {"key": "value"}`)
	fs.StringVar(&f.token, "token", "", `a bearer token sent with every call ("authorization: Bearer TOKEN")`)
	fs.IntVar(&f.concurrency, "c", 50, "concurrent calls (closed loop: workers calling back to back)")
	fs.IntVar(&f.connections, "connections", 1, "connections the concurrent calls are spread over (as streams of each)")
	fs.Uint64Var(&f.total, "n", 200, "number of calls when no -z is given")
	fs.DurationVar(&f.duration, "z", 0, "duration of the run (overrides -n)")
	fs.DurationVar(&f.warmup, "warmup", 0, "run this long first without recording")
	fs.Uint64Var(&f.skipFirst, "skipFirst", 0, "leave the first N calls out of the results")
	fs.DurationVar(&f.timeout, "t", 20*time.Second, "timeout of each call (0: none)")
	fs.DurationVar(&f.connTimeout, "connect-timeout", 10*time.Second, "timeout of each connection's setup")
	fs.Float64Var(&f.rps, "r", 0, "calls per second, an open loop: latency is measured from each call's intended start")
	fs.Float64Var(&f.rps, "rps", 0, "same as -r")
	fs.StringVar(&f.loop, "loop", "", "with a rate: open (default; latency from intended starts) or closed (a closed loop held to the rate, latency from actual starts, as ghz)")
	fs.StringVar(&f.loadSchedule, "load-schedule", "const", "rate schedule: const, step or line")
	fs.Float64Var(&f.loadStart, "load-start", 0, "step and line schedules: the starting rate")
	fs.Float64Var(&f.loadEnd, "load-end", 0, "step and line schedules: the rate they stop at")
	fs.Float64Var(&f.loadStep, "load-step", 0, "step: rate added every --load-step-duration; line: rate added per second")
	fs.DurationVar(&f.loadStepDur, "load-step-duration", 0, "step schedule: how long each step lasts")
	fs.DurationVar(&f.loadMaxDur, "load-max-duration", 0, "step and line schedules: after this, the rate stays where it is")
	fs.StringVar(&f.concSchedule, "concurrency-schedule", "const", "closed loop: concurrency schedule, const, step or line (up to -c)")
	fs.Float64Var(&f.concStart, "concurrency-start", 1, "step and line concurrency schedules: the starting concurrency")
	fs.Float64Var(&f.concEnd, "concurrency-end", 0, "step and line concurrency schedules: where they stop (default -c)")
	fs.Float64Var(&f.concStep, "concurrency-step", 1, "concurrency added per step (step) or per second (line)")
	fs.DurationVar(&f.concStepDur, "concurrency-step-duration", 0, "step concurrency schedule: how long each step lasts")
	fs.DurationVar(&f.concMaxDur, "concurrency-max-duration", 0, "after this, the concurrency stays where it is")
	fs.BoolVar(&f.insecure, "insecure", false, "plaintext HTTP/2 (h2c) instead of TLS")
	fs.BoolVar(&f.skipTLS, "skipTLS", false, "TLS without checking the server's certificate")
	fs.StringVar(&f.cacert, "cacert", "", "PEM roots the server's certificate is checked against (default: the system's)")
	fs.StringVar(&f.cert, "cert", "", "client certificate (PEM) for mutual TLS")
	fs.StringVar(&f.key, "key", "", "private key (PEM) of --cert")
	fs.StringVar(&f.cname, "cname", "", "the server name checked in its certificate (and sent in SNI)")
	fs.StringVar(&f.authority, "authority", "", "the :authority of every call (default: the target)")
	fs.StringVar(&f.format, "O", "summary", "output format: summary, json, csv or html")
	fs.StringVar(&f.output, "o", "", "write the output to this file instead of standard output")
	fs.StringVar(&f.html, "html", "", "also write the HTML report (no network needed to view it) to this file")
	fs.IntVar(&f.cpus, "cpus", 0, "CPUs the generator may use (default: all)")
	fs.DurationVar(&f.streamInterval, "stream-interval", 0, "streams: pause between two sent messages")
	fs.DurationVar(&f.streamDur, "stream-call-duration", 0, "client and bidi streams: stop sending after this long")
	fs.IntVar(&f.streamCount, "stream-call-count", 0, "client and bidi streams: messages per stream (default: each request of -d once)")
	fs.BoolVar(&f.noWire, "no-wire", false, "do not count frames and bytes on the wire")
	fs.BoolVar(&f.quiet, "q", false, "no progress on standard error")
	fs.DurationVar(&f.lateAfter, "late-after", time.Millisecond, "open loop: a call starting this much after its intended start counts as late")
	fs.DurationVar(&f.interval, "interval", time.Second, "width of the time series' points")
	fs.StringVar(&f.compare, "compare", "", "grpc-go: run the same workload with grpc-go's client too, alternating, and print ratios")
	fs.StringVar(&f.serve, "serve", "", "h2rpc, grpc-go or both (comma-separated): start that interop server here and target it (no target argument)")
	fs.StringVar(&f.ghz, "ghz", "", "path of ghz: run the same workload with ghz too, alternating, and print ratios")
	fs.StringVar(&f.grpcgoClient, "grpcgo-client", "", "the grpc-go client program for --compare (default: h2rpc-bench-grpcgo beside this program, or on PATH)")
	fs.StringVar(&f.grpcgoServer, "grpcgo-server", "", "grpc-go's interop server for --serve grpc-go (default: $H2RPC_GRPCGO_SERVER)")
	fs.IntVar(&f.rounds, "rounds", 2, "--compare, --serve both and --ghz: rounds of each, alternating (-z is split between them)")
}

// parseArgs parses flags before and after the target.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// usageError is bad input: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func badf(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &benchFlags{}
	f.define(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: h2rpc bench --call package.Service.Method [flags] HOST:PORT")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Drives a gRPC server with h2rpc's client and reports latency (HDR histogram),")
		fmt.Fprintln(stderr, "calls/s, errors by status code, wire counters and the generator's own CPU.")
		fmt.Fprintln(stderr, "The method is looked up in --proto/--protoset, in the built-in grpc.testing")
		fmt.Fprintln(stderr, "service, or by the server's reflection service. Flags are ghz's where ghz has one.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	f.rawArgs = args
	switch {
	case len(pos) == 1:
		f.target = pos[0]
	case len(pos) > 1:
		fmt.Fprintf(stderr, "bench: one target expected, got %q\n", pos)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := benchMain(ctx, f, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		var ue *usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return code
}

func benchMain(ctx context.Context, f *benchFlags, stdout, stderr io.Writer) (int, error) {
	if f.call == "" {
		return 0, badf("--call package.Service.Method is required")
	}
	if f.cpus < 0 {
		return 0, badf("--cpus must be positive")
	}
	if f.cpus > 0 {
		runtime.GOMAXPROCS(f.cpus)
	}
	switch f.format {
	case "summary", "json", "csv", "html":
	default:
		return 0, badf("-O %q: the formats are summary, json, csv and html", f.format)
	}
	if f.compare != "" && f.compare != "grpc-go" {
		return 0, badf("--compare %q: the client to compare with is grpc-go", f.compare)
	}
	if f.serve != "" {
		return runServed(ctx, f, stdout, stderr)
	}
	if f.target == "" {
		return 0, badf("give the target, HOST:PORT, as the last argument (or --serve h2rpc|grpc-go)")
	}
	if f.ghz != "" || f.compare != "" {
		return f.sideBySide(ctx, []string{f.target}, nil, stdout, stderr)
	}
	return benchMainTarget(ctx, f, stdout, stderr)
}

// benchMainTarget runs the workload once against f.target and writes the
// reports.
func benchMainTarget(ctx context.Context, f *benchFlags, stdout, stderr io.Writer) (int, error) {
	wl, err := f.workload(ctx)
	if err != nil {
		return 0, err
	}
	res, rep, err := f.runOnce(ctx, wl, stderr)
	if err != nil {
		return 0, err
	}
	if err := f.writeOutputs(rep, stdout); err != nil {
		return 0, err
	}
	if res.Stopped != "" {
		fmt.Fprintf(stderr, "bench: the run ended early: %s (partial results above)\n", res.Stopped)
		return 1, nil
	}
	return 0, nil
}

// workload resolves the method and the requests.
func (f *benchFlags) workload(ctx context.Context) (*bench.Workload, error) {
	m, err := f.method(ctx)
	if err != nil {
		return nil, err
	}
	f.methodKind, f.methodPath = m.Kind, m.Path
	wl := &bench.Workload{Method: m.Path, Kind: m.Kind, Timeout: f.timeout,
		StreamCount: f.streamCount, StreamInterval: f.streamInterval, StreamDuration: f.streamDur}
	in := m.Desc.Input()
	n := 0
	for _, s := range []string{"d", "D", "payload-size"} {
		if f.set[s] {
			n++
		}
	}
	if n > 1 {
		return nil, badf("give one of -d, -D and --payload-size")
	}
	switch {
	case f.set["payload-size"]:
		if f.payloadSize < 0 {
			return nil, badf("--payload-size must not be negative")
		}
		b, err := bench.PayloadRequest(in, f.payloadSize)
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		wl.Requests = [][]byte{b}
	case f.set["D"]:
		reqs, err := bench.ReadRequestFile(in, f.dataFile)
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		wl.Requests = reqs
	default:
		data := f.data
		if data == "@" {
			b, err := io.ReadAll(os.Stdin)
			if err != nil {
				return nil, err
			}
			data = string(b)
		}
		reqs, err := bench.EncodeJSON(in, []byte(data))
		if err != nil {
			return nil, &usageError{err.Error()}
		}
		wl.Requests = reqs
	}
	return wl, nil
}

// method finds the method's descriptor: in --proto or --protoset when
// given, else in the built-in grpc.testing descriptors, else by the
// server's reflection service.
func (f *benchFlags) method(ctx context.Context) (*bench.Method, error) {
	var files *bench.Files
	var err error
	switch {
	case f.proto != "" && f.protoset != "":
		return nil, badf("give --proto or --protoset, not both")
	case f.proto != "":
		files, err = bench.CompileProtos(splitList(f.proto), splitList(f.importPaths))
	case f.protoset != "":
		files, err = bench.LoadProtoset(f.protoset)
	default:
		if files, err = bench.BuiltinFiles(); err != nil {
			return nil, err
		}
		m, err := bench.FindMethod(files, f.call)
		if err == nil {
			f.files = files
			return m, nil
		}
		if svc, _, serr := splitService(f.call); serr == nil && strings.HasPrefix(svc, "grpc.testing.") {
			return nil, &usageError{err.Error()}
		}
		return f.reflect(ctx)
	}
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	m, err := bench.FindMethod(files, f.call)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	f.files = files
	return m, nil
}

func splitService(call string) (string, string, error) {
	c := strings.TrimPrefix(call, "/")
	i := strings.LastIndexAny(c, "/.")
	if i <= 0 {
		return "", "", errors.New("bad call")
	}
	return c[:i], c[i+1:], nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// tlsConfig builds the client's TLS settings from the flags; nil for h2c.
func (f *benchFlags) tlsConfig() (*tls.Config, error) {
	if f.insecure {
		for _, n := range []string{"skipTLS", "cacert", "cert", "key", "cname"} {
			if f.set[n] {
				return nil, badf("--%s is a TLS setting and --insecure turns TLS off", n)
			}
		}
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: f.skipTLS, ServerName: f.cname, NextProtos: []string{"h2"}}
	if f.cacert != "" {
		pem, err := os.ReadFile(f.cacert)
		if err != nil {
			return nil, badf("--cacert: %v", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, badf("--cacert %s holds no PEM certificate", f.cacert)
		}
	}
	if (f.cert == "") != (f.key == "") {
		return nil, badf("mutual TLS needs both --cert and --key")
	}
	if f.cert != "" {
		c, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, badf("--cert/--key: %v", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

func (f *benchFlags) metadataPairs() ([][2]string, error) {
	var md [][2]string
	if f.metadata != "" {
		var m map[string]string
		if err := json.Unmarshal([]byte(f.metadata), &m); err != nil {
			return nil, badf(`-m must be a JSON object of strings, {"key": "value"}: %v`, err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if k != strings.ToLower(k) || strings.HasPrefix(k, "grpc-") || strings.HasPrefix(k, ":") {
				return nil, badf("-m: metadata key %q must be lowercase and must not start with grpc- or :", k)
			}
			md = append(md, [2]string{k, m[k]})
		}
	}
	if f.token != "" {
		md = append(md, [2]string{"authorization", "Bearer " + f.token})
	}
	return md, nil
}

// config builds the run's configuration from the flags.
func (f *benchFlags) config(wl *bench.Workload) (bench.Config, error) {
	cfg := bench.Config{
		Workload: *wl, Concurrency: f.concurrency, Connections: f.connections,
		Duration: f.duration, Warmup: f.warmup, SkipFirst: f.skipFirst,
		LateAfter: f.lateAfter, Interval: f.interval,
	}
	if f.duration <= 0 {
		cfg.Total = f.total
	}
	if f.concurrency <= 0 {
		return cfg, badf("-c must be positive")
	}
	if f.connections <= 0 {
		return cfg, badf("--connections must be positive")
	}
	if f.connections > f.concurrency {
		return cfg, badf("--connections %d is more than -c %d: each connection needs at least one call", f.connections, f.concurrency)
	}
	sched, err := schedule("load", f.loadSchedule, f.rps, f.loadStart, f.loadEnd, f.loadStep, f.loadStepDur, f.loadMaxDur)
	if err != nil {
		return cfg, err
	}
	cfg.Rate = sched
	switch f.loop {
	case "", "open":
	case "closed":
		if sched == nil {
			return cfg, badf("--loop closed needs a rate (-r or --load-schedule)")
		}
		cfg.Uncorrected = true
	default:
		return cfg, badf("--loop %q: open or closed", f.loop)
	}
	if f.concSchedule != "const" {
		if sched != nil {
			return cfg, badf("--concurrency-schedule is for closed loops; a rate (-r, --load-schedule) makes an open loop")
		}
		end := f.concEnd
		if end == 0 {
			end = float64(f.concurrency)
		}
		cs, err := schedule("concurrency", f.concSchedule, 0, f.concStart, end, f.concStep, f.concStepDur, f.concMaxDur)
		if err != nil {
			return cfg, err
		}
		cfg.ConcurrencySchedule = cs
	}
	if cfg.Total == 0 && cfg.Duration <= 0 {
		return cfg, badf("give -n above zero or a duration -z")
	}
	return cfg, nil
}

func schedule(what, kind string, rps, start, end, step float64, stepDur, maxDur time.Duration) (*bench.Schedule, error) {
	var s bench.Schedule
	switch kind {
	case "", "const":
		if rps < 0 {
			return nil, badf("-r must not be negative")
		}
		if rps == 0 {
			return nil, nil
		}
		return bench.ConstRate(rps), nil
	case "step":
		s.Kind = bench.Step
	case "line":
		s.Kind = bench.Line
	default:
		return nil, badf("--%s-schedule %q: const, step or line", what, kind)
	}
	s.Start, s.End, s.Step, s.StepDuration, s.MaxDuration = start, end, step, stepDur, maxDur
	if err := bench.CheckSchedule(&s, what); err != nil {
		return nil, &usageError{err.Error()}
	}
	return &s, nil
}

// runOnce runs the workload once with h2rpc's client, reporting progress.
func (f *benchFlags) runOnce(ctx context.Context, wl *bench.Workload, stderr io.Writer) (*bench.Result, *bench.Report, error) {
	cfg, err := f.config(wl)
	if err != nil {
		return nil, nil, err
	}
	tlsCfg, err := f.tlsConfig()
	if err != nil {
		return nil, nil, err
	}
	md, err := f.metadataPairs()
	if err != nil {
		return nil, nil, err
	}
	if err := preflight(ctx, f.target, tlsCfg, f.connTimeout); err != nil {
		return nil, nil, err
	}
	opts := bench.H2Options{TLS: tlsCfg, Authority: f.authority, ConnectTimeout: f.connTimeout, Metadata: md}
	if !f.noWire {
		opts.Wire = new(bench.WireCounters)
		cfg.Wire = opts.Wire
	}
	tr, err := bench.NewH2Transport(f.target, f.connections, opts)
	if err != nil {
		return nil, nil, badf("target %q: %v", f.target, err)
	}
	defer tr.Close()
	if !f.quiet {
		cfg.Progress = progressPrinter(stderr)
	}
	res, err := bench.Run(ctx, tr, cfg)
	if err != nil {
		return nil, nil, err
	}
	if !f.quiet {
		clearProgress(stderr)
	}
	return res, bench.NewReport(res, f.options("h2rpc"), runtime.GOMAXPROCS(0)), nil
}

func (f *benchFlags) options(client string) bench.Options {
	o := bench.Options{
		Call: f.call, Target: f.target, Kind: f.methodKind.String(), Concurrency: f.concurrency, Connections: f.connections,
		Rate: f.rps, Insecure: f.insecure, Client: client,
	}
	if f.duration > 0 {
		o.Duration = f.duration.String()
	} else {
		o.Total = f.total
	}
	if f.warmup > 0 {
		o.Warmup = f.warmup.String()
	}
	if f.timeout > 0 {
		o.Timeout = f.timeout.String()
	}
	if f.loadSchedule != "const" && f.loadSchedule != "" {
		o.Schedule = f.loadSchedule
	}
	return o
}

func (f *benchFlags) writeOutputs(rep *bench.Report, stdout io.Writer) error {
	out := stdout
	if f.output != "" {
		file, err := os.Create(f.output)
		if err != nil {
			return badf("-o: %v", err)
		}
		defer file.Close()
		out = file
	}
	var err error
	switch f.format {
	case "json":
		err = rep.WriteJSON(out)
	case "csv":
		err = rep.WriteCSV(out)
	case "html":
		err = rep.WriteHTML(out)
	default:
		err = rep.WriteSummary(out)
	}
	if err != nil {
		return err
	}
	if f.html != "" {
		file, err := os.Create(f.html)
		if err != nil {
			return badf("--html: %v", err)
		}
		defer file.Close()
		if err := rep.WriteHTML(file); err != nil {
			return err
		}
	}
	return nil
}

// preflight connects once to say clearly what is wrong with a target
// before the run starts.
func preflight(ctx context.Context, target string, tlsCfg *tls.Config, timeout time.Duration) error {
	addr := target
	if i := strings.Index(addr, ":///"); i >= 0 {
		addr = addr[i+4:]
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return badf("target %q is not HOST:PORT", target)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %v; is the server running, and are the host and port right?", target, unwrapOp(err))
	}
	defer c.Close()
	if tlsCfg == nil {
		return checkH2C(c, target, timeout)
	}
	cfg := tlsCfg.Clone()
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	tc := tls.Client(c, cfg)
	tc.SetDeadline(time.Now().Add(timeout))
	err = tc.HandshakeContext(ctx)
	if err == nil {
		if p := tc.ConnectionState().NegotiatedProtocol; p != "h2" {
			return fmt.Errorf("the TLS server at %s did not agree to HTTP/2 (ALPN %q): it is not a gRPC server", target, p)
		}
		return nil
	}
	var rh tls.RecordHeaderError
	var uerr x509.UnknownAuthorityError
	var herr x509.HostnameError
	switch {
	case errors.As(err, &rh) || errors.Is(err, io.EOF):
		return fmt.Errorf("TLS handshake with %s failed (%v): the server seems to speak plaintext; add --insecure for h2c", target, unwrapOp(err))
	case errors.As(err, &uerr):
		return fmt.Errorf("the certificate of %s is signed by an unknown authority: give its CA with --cacert, or --skipTLS to skip the check", target)
	case errors.As(err, &herr):
		return fmt.Errorf("the certificate of %s does not name the host: %v; give the name it holds with --cname", target, herr)
	}
	return fmt.Errorf("TLS handshake with %s failed: %v (check --cacert, --cert, --key, --cname, or --insecure for h2c)", target, unwrapOp(err))
}

// checkH2C sends the HTTP/2 preface and an empty SETTINGS frame and
// checks that the server's first frame is SETTINGS.
func checkH2C(c net.Conn, target string, timeout time.Duration) error {
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"); err != nil {
		return fmt.Errorf("cannot talk to %s: %v", target, unwrapOp(err))
	}
	var hdr [9]byte
	n, err := io.ReadFull(c, hdr[:])
	switch {
	case n > 0 && hdr[0] == 0x15:
		return fmt.Errorf("the server at %s answered plaintext HTTP/2 with a TLS alert: the server wants TLS, drop --insecure (add --cacert or --skipTLS as needed)", target)
	case n >= 4 && string(hdr[:4]) == "HTTP":
		return fmt.Errorf("the server at %s speaks HTTP/1, not HTTP/2 with prior knowledge (h2c): it is not a plaintext gRPC server", target)
	case err != nil && n == 0:
		return fmt.Errorf("the server at %s closed the connection without answering plaintext HTTP/2 (%v): if it wants TLS, drop --insecure", target, unwrapOp(err))
	case err != nil || hdr[3] != 0x4:
		return fmt.Errorf("the server at %s did not answer with HTTP/2 SETTINGS: it is not a plaintext gRPC server (drop --insecure if it wants TLS)", target)
	}
	return nil
}

func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// progressPrinter returns a progress callback: a line rewritten in place
// on a terminal, plain lines every five seconds otherwise.
func progressPrinter(w io.Writer) func(bench.Progress) {
	tty := isTerminal(w)
	var last time.Time
	return func(p bench.Progress) {
		left := ""
		if p.Left > 0 {
			left = fmt.Sprintf(", %v left", p.Left.Round(time.Second))
		}
		var line string
		if p.Warmup {
			line = fmt.Sprintf("warming up %v%s", p.Elapsed.Round(time.Second), left)
		} else {
			line = fmt.Sprintf("%v: %d calls, %.0f calls/s, p99 %s, %d errors%s",
				p.Elapsed.Round(time.Second), p.Calls, p.Rate, p.P99.Round(time.Microsecond), p.Errors, left)
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
			return
		}
		if now := time.Now(); now.Sub(last) >= 5*time.Second {
			last = now
			fmt.Fprintln(w, line)
		}
	}
}

func clearProgress(w io.Writer) {
	if isTerminal(w) {
		fmt.Fprint(w, "\r\033[K")
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
