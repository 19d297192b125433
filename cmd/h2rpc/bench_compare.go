package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/h2rpc/h2rpc/bench"
)

// reflect finds the method through the server's reflection service.
func (f *benchFlags) reflect(ctx context.Context) (*bench.Method, error) {
	svc, _, err := splitService(f.call)
	if err != nil {
		return nil, badf("--call %q is not package.Service.Method", f.call)
	}
	if f.target == "" {
		return nil, badf("without --proto or --protoset, %s is looked up by reflection, which needs the target", svc)
	}
	tlsCfg, err := f.tlsConfig()
	if err != nil {
		return nil, err
	}
	if err := preflight(ctx, f.target, tlsCfg, f.connTimeout); err != nil {
		return nil, err
	}
	tr, err := bench.NewH2Transport(f.target, 1, bench.H2Options{TLS: tlsCfg, Authority: f.authority, ConnectTimeout: f.connTimeout})
	if err != nil {
		return nil, badf("target %q: %v", f.target, err)
	}
	defer tr.Close()
	if err := tr.Connect(ctx, 0); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.connTimeout)
	defer cancel()
	files, err := bench.ReflectFiles(ctx, tr, svc)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("%s is not a built-in service, so it was looked up by reflection: %v", svc, err)}
	}
	f.files = files
	m, err := bench.FindMethod(files, f.call)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	return m, nil
}

// outcome is one contender's run, as the side-by-side modes read it.
type outcome struct {
	Count, Errors uint64
	RPS           float64
	CPU           time.Duration // the client process's user+system time
	P50, P99      time.Duration
}

func (o outcome) cpuPerCall() time.Duration {
	if o.Count == 0 {
		return 0
	}
	return o.CPU / time.Duration(o.Count)
}

// contender is one client (and server) of a side-by-side run.
type contender struct {
	name   string
	server string // the server it calls, when the run has several
	run    func(ctx context.Context) (outcome, error)
}

// childArgs are the run's own flags for a child h2rpc bench, without the
// side-by-side and output flags.
func (f *benchFlags) childArgs(target string) []string {
	drop := map[string]bool{"ghz": true, "compare": true, "serve": true, "rounds": true, "O": true, "o": true, "html": true,
		"grpcgo-client": true, "grpcgo-server": true, "q": true}
	var out []string
	args := f.rawArgs
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue // the target
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if drop[name] {
			if !hasValue && name != "q" {
				i++
			}
			continue
		}
		out = append(out, a)
		if !hasValue && !boolFlags[name] && i+1 < len(args) {
			i++
			out = append(out, args[i])
		}
	}
	return append(out, "-O", "json", "-q", target)
}

var boolFlags = map[string]bool{"insecure": true, "skipTLS": true, "no-wire": true, "q": true}

// runChild runs a program and returns its standard output and CPU time.
func runChild(ctx context.Context, path string, args []string) ([]byte, time.Duration, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, 0, fmt.Errorf("%s failed: %v: %s", filepath.Base(path), err, msg)
	}
	return stdout.Bytes(), bench.ChildCPUUsage(cmd.ProcessState.SysUsage()).Total(), nil
}

// h2rpcContender runs this program's bench against target in a child
// process, so that its CPU time is measured as a competitor's is.
func (f *benchFlags) h2rpcContender(name, target string) contender {
	return contender{name: name, run: func(ctx context.Context) (outcome, error) {
		self, err := os.Executable()
		if err != nil {
			return outcome{}, err
		}
		out, cpu, err := runChild(ctx, self, append([]string{"bench"}, f.childArgs(target)...))
		if err != nil {
			return outcome{}, err
		}
		return reportOutcome(out, cpu)
	}}
}

func reportOutcome(out []byte, cpu time.Duration) (outcome, error) {
	var rep bench.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		return outcome{}, fmt.Errorf("reading a child's report: %v", err)
	}
	return outcome{Count: rep.Count, Errors: rep.H2RPC.Errors, RPS: rep.RPS, CPU: cpu,
		P50: rep.H2RPC.Quantiles["p50"], P99: rep.H2RPC.Quantiles["p99"]}, nil
}

// ghzContender runs ghz with the same settings.
func (f *benchFlags) ghzContender(name, target string, wl *bench.Workload, protoset string) (contender, error) {
	data, err := f.requestJSON(wl)
	if err != nil {
		return contender{}, err
	}
	args := []string{"--protoset", protoset, "--call", strings.TrimPrefix(strings.Replace(wl.Method, "/", ".", 2), "."),
		"-d", data, "-c", strconv.Itoa(f.concurrency), "--connections", strconv.Itoa(f.connections),
		"-t", f.timeout.String(), "-O", "json"}
	if f.duration > 0 {
		args = append(args, "-z", f.duration.String())
	} else {
		args = append(args, "-n", strconv.FormatUint(f.total, 10))
	}
	if f.rps > 0 {
		args = append(args, "-r", strconv.FormatFloat(f.rps, 'f', -1, 64))
	}
	if f.insecure {
		args = append(args, "--insecure")
	}
	for flag, v := range map[string]string{"--cacert": f.cacert, "--cert": f.cert, "--key": f.key, "--cname": f.cname, "-m": f.metadata} {
		if v != "" {
			args = append(args, flag, v)
		}
	}
	if f.skipTLS {
		args = append(args, "--skipTLS")
	}
	if f.cpus > 0 {
		args = append(args, "--cpus", strconv.Itoa(f.cpus))
	}
	if f.skipFirst > 0 {
		args = append(args, "--skipFirst", strconv.FormatUint(f.skipFirst, 10))
	}
	if f.streamCount > 0 {
		args = append(args, "--stream-call-count", strconv.Itoa(f.streamCount))
	}
	if f.streamInterval > 0 {
		args = append(args, "--stream-interval", f.streamInterval.String())
	}
	args = append(args, target)
	return contender{name: name, run: func(ctx context.Context) (outcome, error) {
		out, cpu, err := runChild(ctx, f.ghz, args)
		if err != nil {
			return outcome{}, err
		}
		var rep struct {
			Count                  uint64            `json:"count"`
			RPS                    float64           `json:"rps"`
			StatusCodeDistribution map[string]uint64 `json:"statusCodeDistribution"`
			LatencyDistribution    []struct {
				Percentage int           `json:"percentage"`
				Latency    time.Duration `json:"latency"`
			} `json:"latencyDistribution"`
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			return outcome{}, fmt.Errorf("reading ghz's JSON: %v", err)
		}
		o := outcome{Count: rep.Count, RPS: rep.RPS, CPU: cpu, Errors: rep.Count - rep.StatusCodeDistribution["OK"]}
		for _, l := range rep.LatencyDistribution {
			switch l.Percentage {
			case 50:
				o.P50 = l.Latency
			case 99:
				o.P99 = l.Latency
			}
		}
		return o, nil
	}}, nil
}

// requestJSON turns the workload's requests back into JSON, for ghz's -d.
func (f *benchFlags) requestJSON(wl *bench.Workload) (string, error) {
	d, err := f.files.FindDescriptorByName(protoreflect.FullName(strings.Replace(strings.TrimPrefix(wl.Method, "/"), "/", ".", 1)))
	if err != nil {
		return "", err
	}
	in := d.(protoreflect.MethodDescriptor).Input()
	var parts []string
	for _, b := range wl.Requests {
		m := dynamicpb.NewMessage(in)
		if err := proto.Unmarshal(b, m); err != nil {
			return "", err
		}
		js, err := protojson.Marshal(m)
		if err != nil {
			return "", err
		}
		parts = append(parts, string(js))
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return "[" + strings.Join(parts, ",") + "]", nil
}

// writeProtoset writes the run's descriptors to a temporary file.
func (f *benchFlags) writeProtoset() (string, func(), error) {
	set := new(descriptorpb.FileDescriptorSet)
	f.files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
		return true
	})
	b, err := proto.Marshal(set)
	if err != nil {
		return "", nil, err
	}
	file, err := os.CreateTemp("", "h2rpc-bench-*.protoset")
	if err != nil {
		return "", nil, err
	}
	defer file.Close()
	if _, err := file.Write(b); err != nil {
		os.Remove(file.Name())
		return "", nil, err
	}
	return file.Name(), func() { os.Remove(file.Name()) }, nil
}

// grpcgoContender runs the grpc-go client program of the comparison
// module with the same workload, given as a JSON spec.
func (f *benchFlags) grpcgoContender(name, target string, wl *bench.Workload) (contender, error) {
	prog, err := findProgram(f.grpcgoClient, "h2rpc-bench-grpcgo", "--grpcgo-client")
	if err != nil {
		return contender{}, err
	}
	md, err := f.metadataPairs()
	if err != nil {
		return contender{}, err
	}
	spec := bench.Spec{
		Target: target, Method: wl.Method, Kind: wl.Kind.String(), Concurrency: f.concurrency, Connections: f.connections,
		Duration: f.duration, Warmup: f.warmup, Timeout: f.timeout, Rate: f.rps, Insecure: f.insecure,
		CACert: f.cacert, Cert: f.cert, Key: f.key, ServerName: f.cname, SkipVerify: f.skipTLS, Metadata: md,
		StreamCount: f.streamCount, StreamInterval: f.streamInterval, Call: f.call,
	}
	if f.duration <= 0 {
		spec.Total = f.total
	}
	for _, r := range wl.Requests {
		spec.Requests = append(spec.Requests, base64.StdEncoding.EncodeToString(r))
	}
	js, err := json.Marshal(spec)
	if err != nil {
		return contender{}, err
	}
	return contender{name: name, run: func(ctx context.Context) (outcome, error) {
		out, cpu, err := runChild(ctx, prog, []string{"-spec", string(js)})
		if err != nil {
			return outcome{}, err
		}
		return reportOutcome(out, cpu)
	}}, nil
}

// findProgram returns the path given, or name beside this program, or
// name on PATH.
func findProgram(given, name, flagName string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", badf("%s %s: %v", flagName, given, err)
		}
		return given, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", badf("%s not found beside this program or on PATH: build it (make bench-tools) or give %s", name, flagName)
}

// sideBySide runs every client against every target, alternating, for
// --rounds rounds, and prints the table and the ratios to the first
// contender.
func (f *benchFlags) sideBySide(ctx context.Context, targets, serverNames []string, stdout, stderr io.Writer) (int, error) {
	if f.rounds <= 0 {
		return 0, badf("--rounds must be positive")
	}
	// Check the workload (and the target) once, in this process.
	f.target = targets[0]
	wl, err := f.workload(ctx)
	if err != nil {
		return 0, err
	}
	if f.files == nil {
		return 0, badf("cannot compare: no descriptors for %s", f.call)
	}
	var cs []contender
	for i, t := range targets {
		server := ""
		if len(targets) > 1 {
			server = serverNames[i]
		}
		first := len(cs)
		cs = append(cs, f.h2rpcContender("h2rpc bench", t))
		if f.compare == "grpc-go" {
			c, err := f.grpcgoContender("grpc-go client", t, wl)
			if err != nil {
				return 0, err
			}
			cs = append(cs, c)
		}
		if f.ghz != "" {
			if _, err := os.Stat(f.ghz); err != nil {
				return 0, badf("--ghz %s: %v", f.ghz, err)
			}
			ps, cleanup, err := f.writeProtoset()
			if err != nil {
				return 0, err
			}
			defer cleanup()
			c, err := f.ghzContender("ghz", t, wl, ps)
			if err != nil {
				return 0, err
			}
			cs = append(cs, c)
		}
		for j := first; j < len(cs); j++ {
			cs[j].server = server
		}
	}
	results := make([][]outcome, len(cs))
	for round := range f.rounds {
		for i, c := range cs {
			if !f.quiet {
				fmt.Fprintf(stderr, "bench: round %d/%d: %s\n", round+1, f.rounds, c.name)
			}
			o, err := c.run(ctx)
			if err != nil {
				return 0, err
			}
			results[i] = append(results[i], o)
		}
	}
	cmp := comparison{Call: f.call, Concurrency: f.concurrency, Connections: f.connections, Rounds: f.rounds}
	// Ratios are to the first contender calling the same server (h2rpc
	// bench), and, with several servers and one client, to the first
	// server.
	var base contenderStat
	for i, c := range cs {
		st := summarize(c.name, results[i])
		st.Server = c.server
		if i == 0 || (len(cs) > len(targets) && c.name == "h2rpc bench") {
			base = st
		}
		if st.RPS > 0 {
			st.RateRatio = base.RPS / st.RPS
		}
		if base.CPUPerCall > 0 {
			st.CPURatio = float64(st.CPUPerCall) / float64(base.CPUPerCall)
		}
		cmp.Contenders = append(cmp.Contenders, st)
	}
	if f.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return 0, enc.Encode(cmp)
	}
	cmp.write(stdout)
	return 0, nil
}

// comparison is the result of a side-by-side run (medians of the rounds).
type comparison struct {
	Call        string          `json:"call"`
	Concurrency int             `json:"concurrency"`
	Connections int             `json:"connections"`
	Rounds      int             `json:"rounds"`
	Contenders  []contenderStat `json:"contenders"`
}

type contenderStat struct {
	Name       string        `json:"name"`
	Server     string        `json:"server,omitempty"`
	RPS        float64       `json:"rps"`
	CPUPerCall time.Duration `json:"cpuPerCall"`
	P50        time.Duration `json:"p50"`
	P99        time.Duration `json:"p99"`
	Errors     uint64        `json:"errors"`
	Rounds     []float64     `json:"roundsRps"`
	// RateRatio is the reference's calls/s over this one's; CPURatio
	// this one's CPU per call over the reference's. The reference is
	// h2rpc bench on the same server, or the first server when h2rpc
	// bench is the only client.
	RateRatio float64 `json:"rpsRatio"`
	CPURatio  float64 `json:"cpuPerCallRatio"`
}

func summarize(name string, os []outcome) contenderStat {
	med := func(v func(outcome) float64) float64 {
		xs := make([]float64, len(os))
		for i, o := range os {
			xs[i] = v(o)
		}
		sort.Float64s(xs)
		if n := len(xs); n%2 == 0 {
			return (xs[n/2-1] + xs[n/2]) / 2
		}
		return xs[len(xs)/2]
	}
	s := contenderStat{Name: name,
		RPS:        med(func(o outcome) float64 { return o.RPS }),
		CPUPerCall: time.Duration(med(func(o outcome) float64 { return float64(o.cpuPerCall()) })),
		P50:        time.Duration(med(func(o outcome) float64 { return float64(o.P50) })),
		P99:        time.Duration(med(func(o outcome) float64 { return float64(o.P99) })),
	}
	for _, o := range os {
		s.Errors += o.Errors
		s.Rounds = append(s.Rounds, o.RPS)
	}
	return s
}

func (c *comparison) write(w io.Writer) {
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	fmt.Fprintf(bw, "\n%s, %d concurrent calls on %d connections, median of %d alternating rounds:\n\n", c.Call, c.Concurrency, c.Connections, c.Rounds)
	ref := "h2rpc bench on the same server"
	if len(c.Contenders) > 0 && c.Contenders[len(c.Contenders)-1].Name == "h2rpc bench" {
		ref = "the first server"
	}
	fmt.Fprintf(bw, "Ratios are to %s: its calls/s over this row's, this row's CPU per call over its.\n\n", ref)
	fmt.Fprintf(bw, "| server | client | calls/s | client CPU per call | p50 | p99 | errors | calls/s ratio | CPU per call ratio |\n")
	fmt.Fprintf(bw, "|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range c.Contenders {
		server := s.Server
		if server == "" {
			server = "target"
		}
		fmt.Fprintf(bw, "| %s | %s | %.0f | %.1f µs | %s | %s | %d | %.2f | %.2f |\n", server, s.Name, s.RPS,
			float64(s.CPUPerCall)/1e3, s.P50.Round(time.Microsecond), s.P99.Round(time.Microsecond), s.Errors, s.RateRatio, s.CPURatio)
	}
}

// server is an interop server this program started.
type server struct {
	name, addr string
	cmd        *exec.Cmd
}

func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
}

// startServer starts h2rpc's or grpc-go's interop server on a free port.
func (f *benchFlags) startServer(name string, stderr io.Writer) (*server, error) {
	switch name {
	case "h2rpc":
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		args := []string{"interop-server", "--port", "0"}
		if !f.insecure {
			args = append(args, "--use_tls")
		}
		cmd := exec.Command(self, args...)
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		cmd.Stderr = io.Discard
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
		if err != nil || !ok {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, fmt.Errorf("h2rpc's interop server did not start: %q", line)
		}
		go io.Copy(io.Discard, out)
		return &server{name: name, addr: addr, cmd: cmd}, nil
	case "grpc-go":
		prog := f.grpcgoServer
		if prog == "" {
			prog = os.Getenv("H2RPC_GRPCGO_SERVER")
		}
		if prog == "" {
			return nil, badf("--serve grpc-go needs grpc-go's interop server: give --grpcgo-server PATH or set H2RPC_GRPCGO_SERVER (make interop-tools builds it)")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		args := []string{"--port=" + strconv.Itoa(port)}
		if !f.insecure {
			args = append(args, "--use_tls")
		}
		cmd := exec.Command(prog, args...)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return nil, badf("--grpcgo-server: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		for deadline := time.Now().Add(10 * time.Second); ; {
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				return nil, fmt.Errorf("grpc-go's interop server did not listen on %s", addr)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return &server{name: name, addr: addr, cmd: cmd}, nil
	}
	return nil, badf("--serve %q: h2rpc or grpc-go (or both, comma-separated)", name)
}

// runServed starts the servers --serve names and runs the workload
// against them (alternating, when several).
func runServed(ctx context.Context, f *benchFlags, stdout, stderr io.Writer) (int, error) {
	if f.target != "" {
		return 0, badf("--serve starts the server itself: give no target")
	}
	names := splitList(f.serve)
	if len(names) == 0 {
		return 0, badf("--serve needs h2rpc, grpc-go or both")
	}
	if !f.insecure && (f.cacert == "" && !f.skipTLS) {
		return 0, badf("--serve with TLS uses test certificates: add --insecure, or --skipTLS (or --cacert with the test CA)")
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	var targets []string
	for _, n := range names {
		s, err := f.startServer(n, stderr)
		if err != nil {
			return 0, err
		}
		servers = append(servers, s)
		targets = append(targets, s.addr)
	}
	if len(targets) == 1 && f.ghz == "" && f.compare == "" {
		f.target = targets[0]
		return benchMainTarget(ctx, f, stdout, stderr)
	}
	return f.sideBySide(ctx, targets, names, stdout, stderr)
}
