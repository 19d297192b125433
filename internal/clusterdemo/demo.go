package clusterdemo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Result is what one event cost the client's calls: a row of the demo's
// closing table.
type Result struct {
	Event  string `json:"event"` // freeze, kill, leave or join
	Server string `json:"server"`
	// StoppedPickingS is the time from the event to the last call picked
	// for the lost server (0 if none was picked after it); for a join,
	// FirstPickS is the time from its start to its first call.
	StoppedPickingS *float64 `json:"stopped_picking_s,omitempty"`
	FirstPickS      *float64 `json:"first_pick_s,omitempty"`
	// FailedCalls and SlowedCalls count the calls that failed, and that
	// succeeded but took longer than the slow threshold, among those that
	// started from a deadline before the event until the next event.
	FailedCalls int `json:"failed_calls"`
	SlowedCalls int `json:"slowed_calls"`
}

func seconds(d time.Duration) *float64 {
	s := float64(d.Round(time.Millisecond)) / float64(time.Second)
	return &s
}

// Measure fills the result of an event on the server at addr at time at,
// counting calls until next.
func (r *Recorder) Measure(ev, server, addr string, at, next time.Time, deadline, slow time.Duration) Result {
	res := Result{Event: ev, Server: server}
	if ev == "join" {
		if first, ok := r.FirstPick(addr, at); ok {
			res.FirstPickS = seconds(first.Sub(at))
		}
	} else {
		var d time.Duration
		if last, ok := r.LastPick(addr, at); ok {
			d = last.Sub(at)
		}
		res.StoppedPickingS = seconds(d)
	}
	for _, c := range r.Calls(at.Add(-deadline), next) {
		switch {
		case c.Err != nil:
			res.FailedCalls++
		case c.End.Sub(c.Start) > slow:
			res.SlowedCalls++
		}
	}
	return res
}

// DemoOptions configure RunDemo.
type DemoOptions struct {
	// Launch starts server processes.
	Launch Launcher
	// Preset is the gossip preset of every member.
	Preset string
	// Phase is the time between events; 10 s when zero.
	Phase time.Duration
	// Rate is the calls per second the client makes; 200 when zero.
	Rate int
	// Out receives the per-second lines and the table; JSON, when set,
	// receives the table as JSON instead.
	Out, JSON io.Writer
}

// RunDemo runs the tour: three servers join, the client calls them; one
// is frozen, one killed, a new one joins and one leaves gracefully; then
// it writes what each event cost.
func RunDemo(ctx context.Context, o DemoOptions) ([]Result, error) {
	if o.Phase == 0 {
		o.Phase = 10 * time.Second
	}
	if o.Rate == 0 {
		o.Rate = 200
	}
	const deadline = time.Second
	rec := &Recorder{}
	cl, err := NewClient(ClientOptions{Gossip: "127.0.0.1:0", Preset: o.Preset, Deadline: deadline}, rec)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	seed := cl.Node.Addr()
	procs := map[string]*Proc{}
	defer func() {
		for _, p := range procs {
			p.Close()
		}
	}()
	var names sync.Map // rpc address → server name
	start := func(name string) (*Proc, error) {
		p, err := StartServer(o.Launch, name, seed, "--preset", o.Preset)
		if err != nil {
			return nil, err
		}
		procs[name] = p
		names.Store(p.RPC, name)
		fmt.Fprintf(o.Out, "started %s: rpc %s, gossip %s\n", name, p.RPC, p.Gossip)
		return p, nil
	}
	for _, n := range []string{"s1", "s2", "s3"} {
		if _, err := start(n); err != nil {
			return nil, err
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() { defer close(done); cl.RunRate(runCtx, o.Rate, 4096) }()
	defer func() { stop(); <-done }()
	go printSeconds(runCtx, o.Out, rec, &names)
	if err := rec.Await([]string{procs["s1"].RPC, procs["s2"].RPC, procs["s3"].RPC}, 20*time.Second); err != nil {
		return nil, err
	}
	fmt.Fprintln(o.Out, "the client calls all three servers")
	baseFrom := time.Now()
	wait := func() error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(o.Phase):
			return nil
		}
	}
	if err := wait(); err != nil {
		return nil, err
	}
	slow := max(50*time.Millisecond, 5*rec.Latency(baseFrom, time.Now(), 0.99))
	type event struct {
		name, server, addr string
		at                 time.Time
	}
	var evs []event
	do := func(name, server string, f func() error) error {
		fmt.Fprintf(o.Out, "--- %s %s\n", name, server)
		at := time.Now()
		if err := f(); err != nil {
			return fmt.Errorf("%s %s: %v", name, server, err)
		}
		evs = append(evs, event{name, server, procs[server].RPC, at})
		return wait()
	}
	steps := []struct {
		name, server string
		f            func() error
	}{
		{"freeze", "s1", func() error { return procs["s1"].Freeze() }},
		{"kill", "s2", func() error { return procs["s2"].Kill() }},
		{"join", "s4", func() error { _, err := start("s4"); return err }},
		{"leave", "s3", func() error { return procs["s3"].Leave() }},
	}
	for _, s := range steps {
		if err := do(s.name, s.server, s.f); err != nil {
			return nil, err
		}
	}
	stop()
	<-done
	var out []Result
	for i, e := range evs {
		next := time.Now()
		if i+1 < len(evs) {
			next = evs[i+1].at
		}
		out = append(out, rec.Measure(e.name, e.server, e.addr, e.at, next, deadline, slow))
	}
	if o.JSON != nil {
		enc := json.NewEncoder(o.JSON)
		enc.SetIndent("", "  ")
		return out, enc.Encode(out)
	}
	fmt.Fprintf(o.Out, "\nslow means over %v (5 × the p99 before the first event, at least 50 ms)\n", slow.Round(time.Millisecond))
	WriteTable(o.Out, out)
	return out, nil
}

// WriteTable writes results as a text table.
func WriteTable(w io.Writer, rs []Result) {
	fmt.Fprintf(w, "%-7s %-7s %-22s %-13s %s\n", "event", "server", "stopped picking after", "failed calls", "slowed calls")
	for _, r := range rs {
		when := "-"
		switch {
		case r.StoppedPickingS != nil:
			when = fmt.Sprintf("%.3f s", *r.StoppedPickingS)
		case r.FirstPickS != nil:
			when = fmt.Sprintf("first pick %.3f s", *r.FirstPickS)
		}
		fmt.Fprintf(w, "%-7s %-7s %-22s %-13d %d\n", r.Event, r.Server, when, r.FailedCalls, r.SlowedCalls)
	}
}

// printSeconds writes, every second, the calls each server answered and
// the calls that failed in that second.
func printSeconds(ctx context.Context, w io.Writer, rec *Recorder, names *sync.Map) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	begin := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			per := map[string]int{}
			failed := 0
			for _, c := range rec.Ended(now.Add(-time.Second), now) {
				if c.Err != nil {
					failed++
					continue
				}
				per[c.Addr]++
			}
			var parts []string
			for addr, n := range per {
				name := addr
				if n, ok := names.Load(addr); ok {
					name = n.(string)
				}
				parts = append(parts, fmt.Sprintf("%s:%d", name, n))
			}
			sort.Strings(parts)
			fmt.Fprintf(w, "%3ds  %-40s failed:%d\n", int(now.Sub(begin).Seconds()+0.5), strings.Join(parts, " "), failed)
		}
	}
}
