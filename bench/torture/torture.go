package torture

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/hpack"
)

// Config says what Run attacks, and how.
type Config struct {
	// Target is the server's HOST:PORT.
	Target string
	// TLS, when set, makes every connection TLS with ALPN h2 (added to
	// NextProtos); nil means h2c with prior knowledge.
	TLS *tls.Config
	// Attacks names the attacks to run (see Attacks), in the order given;
	// empty means all.
	Attacks []string
	// Duration is how long each flood lasts. Default 5s.
	Duration time.Duration
	// Connections overrides the connection count of the attacks marked
	// Multi (zero-window, slowloris) when positive.
	Connections int
	// StreamsPerConn overrides the streams each zero-window connection
	// opens when positive (by default 256, or the server's limit if lower).
	StreamsPerConn int
	// Path is the method of the probe's calls and of the requests the
	// floods open. Default /grpc.testing.TestService/EmptyCall.
	Path string
	// LargePath is the method asked for 1 MiB responses by zero-window and
	// sent 4 MiB messages by small-data. Default
	// /grpc.testing.TestService/UnaryCall.
	LargePath string
	// Baseline is how long the probe is measured before the first attack.
	// Default 1s.
	Baseline time.Duration
	// Pause is the rest between two attacks. Default 1s.
	Pause time.Duration
	// ProbeInterval is the least time between the starts of two probe
	// calls (default 10ms); ProbeTimeout bounds each call (default 2s).
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	// StallTimeout is how long a write may make no progress before the
	// server is taken to have stopped reading an attacker. Default 1s.
	StallTimeout time.Duration
	// DrainIdle is how long, after a flood, the attacker reads what the
	// server still sends before it decides the connection was left open:
	// it stops once nothing has arrived for DrainIdle (at most 5 ×
	// DrainIdle in all). Default 1s.
	DrainIdle time.Duration
	// DialTimeout bounds each connection's dial, TLS and HTTP/2
	// handshakes. Default 5s.
	DialTimeout time.Duration
	// PID, when positive, is a local server process whose memory and CPU
	// time are reported from /proc.
	PID int
	// OnAttackEnd, when set, is called at the end of each attack's
	// Duration, while the connections the server left open are still
	// open and before the attacker drains them; an in-process test
	// measures the server's memory there.
	OnAttackEnd func(name string)
	// OnResult, when set, is called with each attack's result as soon as
	// it is known.
	OnResult func(Result)
}

const (
	defaultPath      = "/grpc.testing.TestService/EmptyCall"
	defaultLargePath = "/grpc.testing.TestService/UnaryCall"
)

func (c Config) withDefaults() Config {
	setDefault := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	setDefault(&c.Duration, 5*time.Second)
	setDefault(&c.Baseline, time.Second)
	setDefault(&c.Pause, time.Second)
	setDefault(&c.ProbeInterval, 10*time.Millisecond)
	setDefault(&c.ProbeTimeout, 2*time.Second)
	setDefault(&c.StallTimeout, time.Second)
	setDefault(&c.DrainIdle, time.Second)
	setDefault(&c.DialTimeout, 5*time.Second)
	if c.Path == "" {
		c.Path = defaultPath
	}
	if c.LargePath == "" {
		c.LargePath = defaultLargePath
	}
	return c
}

// ConfigError is returned by Run for a Config it cannot run.
type ConfigError struct{ Reason string }

// Error says what is wrong.
func (e *ConfigError) Error() string { return e.Reason }

func (c *Config) validate() error {
	if err := c.check(); err != nil {
		return &ConfigError{Reason: err.Error()}
	}
	return nil
}

func (c *Config) check() error {
	host, port, err := net.SplitHostPort(c.Target)
	if err != nil || port == "" {
		return fmt.Errorf("target %q: want HOST:PORT", c.Target)
	}
	if host == "" {
		c.Target = net.JoinHostPort("localhost", port)
	}
	for name, d := range map[string]time.Duration{
		"duration": c.Duration, "baseline": c.Baseline, "pause": c.Pause, "probe interval": c.ProbeInterval,
		"probe timeout": c.ProbeTimeout, "stall timeout": c.StallTimeout, "drain idle time": c.DrainIdle, "dial timeout": c.DialTimeout,
	} {
		if d < 0 {
			return fmt.Errorf("the %s must not be negative, got %v", name, d)
		}
	}
	if c.Connections < 0 || c.StreamsPerConn < 0 {
		return errors.New("connection and stream counts must not be negative")
	}
	for _, p := range []string{c.Path, c.LargePath} {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("method path %q must start with /", p)
		}
	}
	_, err = selectAttacks(c.Attacks)
	return err
}

// selectAttacks resolves names; none means all.
func selectAttacks(names []string) ([]*Attack, error) {
	if len(names) == 0 {
		return attacks, nil
	}
	var out []*Attack
	for _, n := range names {
		a := lookup(strings.TrimSpace(n))
		if a == nil {
			known := make([]string, len(attacks))
			for i, a := range attacks {
				known[i] = a.Name
			}
			return nil, fmt.Errorf("unknown attack %q; known: %s", n, strings.Join(known, ", "))
		}
		out = append(out, a)
	}
	return out, nil
}

// Seconds is a duration that JSON carries as a number of seconds.
type Seconds time.Duration

// MarshalJSON encodes s in seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(s).Seconds(), 'f', -1, 64), nil
}

// UnmarshalJSON decodes a number of seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return err
	}
	*s = Seconds(f * float64(time.Second))
	return nil
}

// Report is the outcome of a run.
type Report struct {
	Target   string  `json:"target"`
	TLS      bool    `json:"tls"`
	Duration Seconds `json:"duration_seconds"`
	// Baseline is the probe before the first attack, and
	// BaselineProcess the server process meanwhile (with Config.PID).
	Baseline        ProbeStats    `json:"baseline"`
	BaselineProcess *ProcessStats `json:"baseline_process,omitempty"`
	Attacks         []Result      `json:"attacks"`
}

// LeftOpen returns the attacks expected to be stopped (Attack.ExpectClose)
// that had a connection the server never closed.
func (r *Report) LeftOpen() []string {
	var out []string
	for _, a := range r.Attacks {
		if a.ExpectClose && a.Error == "" && a.Closed < len(a.Conns) {
			out = append(out, a.Name)
		}
	}
	return out
}

// Result is what one attack did and cost.
type Result struct {
	Name        string `json:"name"`
	CVE         string `json:"cve,omitempty"`
	ExpectClose bool   `json:"expect_close"`
	// FramesSent counts the frames the attacker wrote whole (for
	// slowloris, the bytes); FrameRate is per second of Flood, the time
	// the flood ran.
	FramesSent     int64   `json:"frames_sent"`
	BytesSent      int64   `json:"bytes_sent"`
	FramesReceived int64   `json:"frames_received"`
	Flood          Seconds `json:"flood_seconds"`
	FrameRate      float64 `json:"frames_per_second"`
	// Closed is the number of connections the server ended, FirstClose
	// when the first was seen to end (from the flood's start; -1 s when
	// none was), and Outcome how they ended, grouped, such as
	// "8 GOAWAY ENHANCE_YOUR_CALM".
	Closed     int     `json:"closed"`
	FirstClose Seconds `json:"first_close_seconds"`
	Outcome    string  `json:"outcome"`
	// Stalled is the number of connections the server stopped reading.
	Stalled int          `json:"stalled"`
	Conns   []ConnResult `json:"conns"`
	// Probe is the well-behaved client during the flood.
	Probe   ProbeStats    `json:"probe"`
	Process *ProcessStats `json:"process,omitempty"`
	// Error says why the attack could not run, if it could not.
	Error string `json:"error,omitempty"`
}

// ConnResult is the fate of one attacking connection.
type ConnResult struct {
	FramesSent     int64 `json:"frames_sent"`
	BytesSent      int64 `json:"bytes_sent"`
	FramesReceived int64 `json:"frames_received"`
	RSTReceived    int64 `json:"rst_stream_received"`
	// Closed tells whether the server ended the connection (a GOAWAY
	// with an error code, or the end of the TCP connection), and
	// ClosedAfter when that was first seen, from the flood's start.
	Closed      bool    `json:"closed"`
	ClosedAfter Seconds `json:"closed_after_seconds"`
	// How is "TCP close" (FIN), "TCP reset", "socket left open" (a
	// GOAWAY with an error code, the connection still up), "open", or an
	// error.
	How string `json:"how"`
	// GoAway is the error code of the GOAWAY received, if any, and
	// GoAwayDebug the start of its debug data.
	GoAway      string `json:"goaway,omitempty"`
	GoAwayDebug string `json:"goaway_debug,omitempty"`
	// Stalled tells whether the server stopped reading this connection,
	// and StalledAfter when the first write stalled.
	Stalled      bool    `json:"stalled"`
	StalledAfter Seconds `json:"stalled_after_seconds"`
	Error        string  `json:"error,omitempty"`
}

// describe names how the connection ended, for grouping.
func (r ConnResult) describe() string {
	switch {
	case r.GoAway != "" && r.Closed:
		return "GOAWAY " + r.GoAway
	case r.GoAway != "":
		return "open after GOAWAY " + r.GoAway
	case !r.Closed && r.Stalled:
		return "open, not reading"
	}
	return r.How
}

// attackRun is one attack under way.
type attackRun struct {
	cfg            *Config
	fields         []hpack.HeaderField
	largeFields    []hpack.HeaderField
	literalRequest []byte

	mu  sync.Mutex
	err string
}

// fail records why the attack could not do what it meant to.
func (r *attackRun) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == "" {
		r.err = fmt.Sprintf(format, args...)
	}
}

// Run runs the attacks against cfg.Target, one after another, with the
// probe calling throughout, and returns the report. It fails only when the
// run cannot be made: bad configuration, or a target whose probe calls are
// not answered before the first attack. An attack that cannot start (its
// connections are refused) has its Error set and the run goes on.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	list, _ := selectAttacks(cfg.Attacks)
	if cfg.TLS != nil {
		t := cfg.TLS.Clone()
		t.NextProtos = []string{"h2"}
		if t.ServerName == "" {
			t.ServerName, _, _ = net.SplitHostPort(cfg.Target)
		}
		cfg.TLS = t
	}
	if cfg.PID > 0 {
		if _, err := readRSS(cfg.PID); err != nil {
			return nil, fmt.Errorf("process %d: %v (give the pid of a server on this machine, on Linux)", cfg.PID, err)
		}
	}
	p, err := newProbe(&cfg)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	if err := p.warmUp(ctx); err != nil {
		return nil, err
	}
	p.start(ctx)

	rep := &Report{Target: cfg.Target, TLS: cfg.TLS != nil, Duration: Seconds(cfg.Duration)}
	var ps *procSampler
	if cfg.PID > 0 {
		ps = startSampling(cfg.PID)
	}
	w := p.begin()
	err = sleep(ctx, cfg.Baseline)
	rep.Baseline = p.end(w)
	if ps != nil {
		rep.BaselineProcess = ps.finish()
	}
	if err != nil {
		return nil, err
	}
	for i, a := range list {
		if i > 0 {
			if err := sleep(ctx, cfg.Pause); err != nil {
				return nil, err
			}
		}
		res := runAttack(ctx, &cfg, a, p)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rep.Attacks = append(rep.Attacks, res)
		if cfg.OnResult != nil {
			cfg.OnResult(res)
		}
	}
	return rep, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// connections is the number of connections attack a opens.
func (a *Attack) connections(cfg *Config) int {
	if a.Multi && cfg.Connections > 0 {
		return cfg.Connections
	}
	return a.Connections
}

// runAttack opens the attack's connections, floods through them for
// cfg.Duration, then reads what the server still says and closes them.
// With a probe, its calls meanwhile are in the result.
func runAttack(ctx context.Context, cfg *Config, a *Attack, p *probe) Result {
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	r := &attackRun{
		cfg:         cfg,
		fields:      requestFields(scheme, cfg.Target, cfg.Path),
		largeFields: requestFields(scheme, cfg.Target, cfg.LargePath),
	}
	r.literalRequest = literalBlock(r.fields)
	res := Result{Name: a.Name, CVE: a.CVE, ExpectClose: a.ExpectClose}

	d := &dialer{target: cfg.Target, tls: cfg.TLS, timeout: cfg.DialTimeout}
	conns, err := openConns(ctx, d, a, a.connections(cfg), cfg)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	var ps *procSampler
	if cfg.PID > 0 {
		ps = startSampling(cfg.PID)
	}
	start := time.Now()
	end := start.Add(cfg.Duration)
	var w *window
	if p != nil {
		w = p.begin()
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		c.start, c.end = start, end
		if a.Reads {
			c.startReader()
		}
		wg.Go(func() { a.flood(r, c) })
	}
	wg.Wait()
	res.Flood = Seconds(time.Since(start))
	// The probe's window is the attack's whole time, however early the
	// server ended the floods.
	if sleep(ctx, time.Until(end)) != nil {
		for _, c := range conns {
			c.close()
		}
		if ps != nil {
			ps.finish()
		}
		if p != nil {
			p.end(w)
		}
		return res
	}
	probeDone := make(chan ProbeStats, 1)
	if p != nil {
		go func() { probeDone <- p.end(w) }()
	} else {
		probeDone <- ProbeStats{}
	}
	if cfg.OnAttackEnd != nil {
		cfg.OnAttackEnd(a.Name)
	}
	for _, c := range conns {
		wg.Go(func() {
			c.observe(cfg.DrainIdle, 5*cfg.DrainIdle)
			c.close()
		})
	}
	wg.Wait()
	res.Probe = <-probeDone
	if ps != nil {
		res.Process = ps.finish()
	}
	summarize(&res, conns)
	res.Error = r.err
	return res
}

// openConns dials n connections for a and, unless the attack is raw, runs
// the HTTP/2 handshake on each.
func openConns(ctx context.Context, d *dialer, a *Attack, n int, cfg *Config) ([]*conn, error) {
	conns := make([]*conn, 0, n)
	for range n {
		nc, err := d.dial(ctx)
		if err == nil {
			c := newConn(nc, cfg.StallTimeout)
			if !a.raw {
				err = c.handshake(a.settings, a.inc, cfg.DialTimeout)
			}
			conns = append(conns, c)
		}
		if err != nil {
			for _, c := range conns {
				c.close()
			}
			return nil, fmt.Errorf("connection %d of %d: %w", len(conns), n, err)
		}
	}
	return conns, nil
}

// summarize fills the totals of res from its connections.
func summarize(res *Result, conns []*conn) {
	groups := map[string]int{}
	first := time.Duration(-1)
	for _, c := range conns {
		cr := c.result()
		res.Conns = append(res.Conns, cr)
		res.FramesSent += cr.FramesSent
		res.BytesSent += cr.BytesSent
		res.FramesReceived += cr.FramesReceived
		if cr.Stalled {
			res.Stalled++
		}
		if cr.Closed {
			res.Closed++
			if at := time.Duration(cr.ClosedAfter); first < 0 || at < first {
				first = at
			}
		}
		groups[cr.describe()]++
	}
	res.FirstClose = Seconds(first)
	if first < 0 {
		res.FirstClose = Seconds(-time.Second)
	}
	if f := time.Duration(res.Flood).Seconds(); f > 0 {
		res.FrameRate = float64(res.FramesSent) / f
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if groups[names[i]] != groups[names[j]] {
			return groups[names[i]] > groups[names[j]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n
		if len(conns) > 1 {
			parts[i] = strconv.Itoa(groups[n]) + " " + n
		}
	}
	res.Outcome = strings.Join(parts, ", ")
}
