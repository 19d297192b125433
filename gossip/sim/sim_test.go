package sim

import (
	"flag"
	"strings"
	"testing"
	"time"
)

var large = flag.Bool("gossip.large", false, "also run the 10,000-member benchmarks (several GB of memory)")

func TestRunIsDeterministic(t *testing.T) {
	s := Scenario{Nodes: 48, Loss: 0.05, Kill: 2, Lifeguard: true, Duration: 30 * time.Second, Seed: 5}
	a, err := Run(s)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(s)
	a.Wall, b.Wall = 0, 0
	if *a != *b {
		t.Fatalf("same seed, different runs:\n%s\n%s", a.Line(), b.Line())
	}
	s.Seed = 6
	c, _ := Run(s)
	c.Wall = 0
	if *a == *c {
		t.Fatal("different seeds, identical runs")
	}
}

func TestRunFigures(t *testing.T) {
	r, err := Run(Scenario{Nodes: 128, Loss: 0.1, Kill: 2, Lifeguard: true, Duration: 40 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Line())
	if r.FullView < 0 || time.Duration(r.FullView) > 5*time.Second {
		t.Errorf("full view after %v, want within 5s", r.FullView)
	}
	if r.Undetected != 0 || time.Duration(r.DetectP99) > 8*time.Second {
		t.Errorf("detection p99 %v with %d undetected", r.DetectP99, r.Undetected)
	}
	if r.FalseDead != 0 {
		t.Errorf("%d false dead declarations at 10%% loss", r.FalseDead)
	}
	if r.Packets <= 0 || r.Bytes <= 0 {
		t.Errorf("no traffic measured: %v packets, %v bytes", r.Packets, r.Bytes)
	}
	var b strings.Builder
	r.Print(&b, true)
	if !strings.Contains(b.String(), `"detect_p99_s":`) {
		t.Errorf("JSON lacks figures: %s", b.String())
	}
}

func TestRunLifeguardAgainstSlowMembers(t *testing.T) {
	base := Scenario{Nodes: 64, Slow: 4, Duration: 40 * time.Second, Seed: 3}
	off, on := base, base
	on.Lifeguard = true
	roff, err := Run(off)
	if err != nil {
		t.Fatal(err)
	}
	ron, _ := Run(on)
	t.Logf("off: %s", roff.Line())
	t.Logf("on:  %s", ron.Line())
	if roff.FalseDeadHealthy == 0 {
		t.Fatal("no healthy member falsely declared dead without Lifeguard: scenario too mild")
	}
	if ron.FalseDeadHealthy*50 > roff.FalseDeadHealthy {
		t.Fatalf("Lifeguard cut healthy false positives from %d to %d, less than 50x", roff.FalseDeadHealthy, ron.FalseDeadHealthy)
	}
}

func TestRunRejectsBadScenarios(t *testing.T) {
	for _, s := range []Scenario{{Nodes: 1}, {Nodes: 4, Kill: 4}, {Nodes: 4, Loss: 1}} {
		if _, err := Run(s); err == nil {
			t.Errorf("accepted %+v", s)
		}
	}
}

func report(b *testing.B, r *Result) {
	b.ReportMetric(time.Duration(r.FullView).Seconds(), "full_view_s")
	b.ReportMetric(time.Duration(r.DetectMedian).Seconds(), "detect_median_s")
	b.ReportMetric(time.Duration(r.DetectP99).Seconds(), "detect_p99_s")
	b.ReportMetric(float64(r.FalseDead), "false_dead")
	b.ReportMetric(r.Packets, "packets/member/s")
	b.ReportMetric(r.Bytes, "bytes/member/s")
	b.ReportMetric(time.Duration(r.Wall).Seconds(), "wall_s")
}

func benchScenario(b *testing.B, s Scenario) {
	for i := 0; i < b.N; i++ {
		r, err := Run(s)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			report(b, r)
			b.Log(r.Line())
		}
	}
}

// BenchmarkMassJoinKill256 is the headline scenario: 256 members join at
// once, one is killed, 60 simulated seconds.
func BenchmarkMassJoinKill256(b *testing.B) {
	benchScenario(b, Scenario{Nodes: 256, Kill: 1, Lifeguard: true, Duration: 60 * time.Second, Seed: 1})
}

func BenchmarkLoss10Percent256(b *testing.B) {
	benchScenario(b, Scenario{Nodes: 256, Kill: 1, Loss: 0.1, Lifeguard: true, Duration: 60 * time.Second, Seed: 1})
}

func BenchmarkWarmKill2000(b *testing.B) {
	benchScenario(b, Scenario{Nodes: 2000, Kill: 3, Warm: true, Lifeguard: true, Duration: 30 * time.Second, Seed: 1})
}

// BenchmarkWarmKill10000 runs 10,000 members for 60 simulated seconds.
func BenchmarkWarmKill10000(b *testing.B) {
	if !*large {
		b.Skip("needs -gossip.large: several GB of memory")
	}
	benchScenario(b, Scenario{Nodes: 10000, Kill: 3, Warm: true, Lifeguard: true, Duration: 60 * time.Second, Seed: 1})
}

// BenchmarkMassJoin10000 measures a mass join of 10,000 members.
func BenchmarkMassJoin10000(b *testing.B) {
	if !*large {
		b.Skip("needs -gossip.large: several GB of memory")
	}
	benchScenario(b, Scenario{Nodes: 10000, Lifeguard: true, Duration: 60 * time.Second, Seed: 1})
}

// TestRunClientDrops: every client hears each killed server suspected or
// dead, never later than the last member declares it dead, and clients
// are never the ones killed.
func TestRunClientDrops(t *testing.T) {
	r, err := Run(Scenario{Nodes: 64, Clients: 8, Kill: 2, Lifeguard: true, Duration: 40 * time.Second, Seed: 2, Warm: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Line())
	if r.ClientUndropped != 0 || r.ClientDropLast <= 0 || r.ClientDropMedian > r.ClientDropLast {
		t.Fatalf("client drops: median %v, last %v, undropped %d; want all 16 (client, killed) pairs", r.ClientDropMedian, r.ClientDropLast, r.ClientUndropped)
	}
	if r.ClientDropLast > r.DetectLast {
		t.Fatalf("a client dropped a killed server %v after the kill, later than the last death (%v): clients drop on suspicion", r.ClientDropLast, r.DetectLast)
	}
	if _, err := Run(Scenario{Nodes: 8, Clients: 7, Kill: 1}); err == nil {
		t.Fatal("a scenario with no member left to kill besides clients ran")
	}
}

// TestRunLoadEveryCostsTraffic: members that keep announcing a new load
// send more per second than members that do not, and every update reaches
// the others (more bytes, same detection).
func TestRunLoadEveryCostsTraffic(t *testing.T) {
	base := Scenario{Nodes: 32, Clients: 4, Kill: 1, Lifeguard: true, Duration: 20 * time.Second, Seed: 4, Warm: true}
	quiet, err := Run(base)
	if err != nil {
		t.Fatal(err)
	}
	base.LoadEvery = 2 * time.Second
	busy, err := Run(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("without load updates: %.1f B/s per member; with one every 2 s: %.1f B/s", quiet.Bytes, busy.Bytes)
	if busy.Bytes <= 2*quiet.Bytes || busy.Undetected != 0 || busy.ClientUndropped != 0 {
		t.Fatalf("load updates every 2 s: %.1f B/s per member against %.1f without, undetected %d, undropped %d", busy.Bytes, quiet.Bytes, busy.Undetected, busy.ClientUndropped)
	}
}
