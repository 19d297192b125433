package torture

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var l []time.Duration
	for i := 1; i <= 100; i++ {
		l = append(l, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := percentile(l, c.p); got != c.want {
			t.Errorf("p%v of 1..100: %d, want %d", c.p*100, got, c.want)
		}
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("p99 of one value: %d", got)
	}
}

func TestWindowStats(t *testing.T) {
	w := &window{}
	w.record(3*time.Millisecond, nil)
	w.record(time.Millisecond, nil)
	w.record(2*time.Second, errTimeout)
	s := w.stats()
	if s.Calls != 3 || s.Served != 2 || s.P50 != Seconds(time.Millisecond) || s.P99 != Seconds(3*time.Millisecond) || s.LastFailure != errTimeout.Error() {
		t.Errorf("got %+v", s)
	}
	if r := s.OKRatio(); r != 2.0/3 {
		t.Errorf("OK ratio %v, want 2/3", r)
	}
}

func sampleReport() *Report {
	return &Report{
		Target:   "127.0.0.1:50051",
		Duration: Seconds(5 * time.Second),
		Baseline: ProbeStats{Calls: 100, Served: 100, P50: Seconds(200 * time.Microsecond), P99: Seconds(1500 * time.Microsecond)},
		Attacks: []Result{
			{
				Name: "rapid-reset", CVE: "CVE-2023-44487", ExpectClose: true,
				FramesSent: 1234567, FrameRate: 246913.4, Closed: 1, FirstClose: Seconds(120 * time.Millisecond),
				Outcome: "GOAWAY ENHANCE_YOUR_CALM",
				Conns:   []ConnResult{{Closed: true, GoAway: "ENHANCE_YOUR_CALM", How: "TCP close"}},
				Probe:   ProbeStats{Calls: 400, Served: 399, P50: Seconds(250 * time.Microsecond), P99: Seconds(12 * time.Millisecond)},
			},
			{
				Name: "ping-flood", CVE: "CVE-2019-9512", ExpectClose: true,
				FramesSent: 900, FrameRate: 180, FirstClose: Seconds(-1), Outcome: "open",
				Conns: []ConnResult{{How: "open"}},
				Probe: ProbeStats{Calls: 10, Served: 0},
			},
			{Name: "slowloris", Error: "connection 3 of 128: connection refused"},
		},
	}
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"h2rpc torture: 127.0.0.1:50051 (h2c), 5s per attack\n",
		"probe baseline: p50 200µs, p99 1.5ms, 100.0% served\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			rows[f[0]] = f
		}
	}
	for name, want := range map[string]string{
		"rapid-reset": "rapid-reset * CVE-2023-44487 1 1.23M 246.9k 1/1 at 120ms GOAWAY ENHANCE_YOUR_CALM 250µs 12ms 99.8%",
		"ping-flood":  "ping-flood * CVE-2019-9512 1 900 180 0/1 open - - 0.0%",
		"slowloris":   "slowloris - - - - - not run: connection 3 of 128: connection refused - - -",
	} {
		if got := strings.Join(rows[name], " "); got != want {
			t.Errorf("row %s:\n got %s\nwant %s", name, got, want)
		}
	}
}

func TestReportJSON(t *testing.T) {
	rep := sampleReport()
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"duration_seconds":5,`, `"p50_seconds":0.0002,`, `"first_close_seconds":0.12,`, `"goaway":"ENHANCE_YOUR_CALM"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Attacks[0].Probe.P99 != Seconds(12*time.Millisecond) || back.Attacks[0].FirstClose != rep.Attacks[0].FirstClose {
		t.Errorf("durations did not survive JSON: %+v", back.Attacks[0])
	}
}

func TestLeftOpen(t *testing.T) {
	rep := sampleReport()
	if got := rep.LeftOpen(); len(got) != 1 || got[0] != "ping-flood" {
		t.Errorf("left open: %v, want [ping-flood]", got)
	}
	rep.Attacks[1].ExpectClose = false
	if got := rep.LeftOpen(); len(got) != 0 {
		t.Errorf("left open: %v, want none", got)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Target: "no-port"}, "want HOST:PORT"},
		{Config{Target: "h:1", Attacks: []string{"rapid-reset", "nonsense"}}, `unknown attack "nonsense"`},
		{Config{Target: "h:1", Duration: -time.Second}, "duration must not be negative"},
		{Config{Target: "h:1", Path: "grpc.testing.TestService/EmptyCall"}, "must start with /"},
	} {
		cfg := c.cfg.withDefaults()
		err := cfg.validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one saying %q", c.cfg, err, c.want)
		}
	}
}
