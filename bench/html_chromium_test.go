//go:build chromium

// The HTML report in a real browser: `make bench-report` runs this with
// -tags chromium, once `make chromium` has installed it; CHROMIUM names
// the browser (default: chromium on PATH).

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/interop"
)

// measureCharts is added to a copy of the report: it writes, for every
// chart, its size on the page and how many of its marks (lines, bars)
// have a non-empty box.
const measureCharts = `<script>
const out = {};
for (const svg of document.querySelectorAll("svg.chart")) {
  const r = svg.getBoundingClientRect();
  let marks = 0;
  for (const m of svg.querySelectorAll("path, rect.bar")) {
    const b = m.getBBox();
    if (b.width > 0 || b.height > 0) marks++;
  }
  out[svg.id] = {width: r.width, height: r.height, marks: marks};
}
const pre = document.createElement("pre");
pre.id = "measured";
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>`

func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := os.Getenv("CHROMIUM")
	if bin == "" {
		bin = "chromium"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--window-size=1400,1800"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	return stdout.Bytes()
}

func TestHTMLReportInChromium(t *testing.T) {
	leakcheck.Check(t)
	addr, _ := serveTest(t, interop.NewTestServer())
	wire := new(WireCounters)
	cfg := Config{
		Workload:    unaryWorkload(t, "grpc.testing.TestService.UnaryCall", `{"responseSize": 100} {"responseSize": 5000}`),
		Concurrency: 4, Connections: 2, Duration: time.Second, Interval: 100 * time.Millisecond, Wire: wire,
	}
	res := runTest(t, addr, cfg, H2Options{Wire: wire})
	rep := NewReport(res, Options{Call: "grpc.testing.TestService.UnaryCall", Target: addr, Kind: "unary", Concurrency: 4, Connections: 2}, 0)
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	if err := os.WriteFile(report, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	measured := filepath.Join(dir, "measured.html")
	withScript := strings.Replace(page.String(), "</body>", measureCharts+"</body>", 1)
	if err := os.WriteFile(measured, []byte(withScript), 0o644); err != nil {
		t.Fatal(err)
	}

	dom := chromium(t, "--dump-dom", "file://"+measured)
	m := regexp.MustCompile(`<pre id="measured">(.*?)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("no measurements in the page Chromium rendered:\n%.2000s", dom)
	}
	var charts map[string]struct {
		Width, Height float64
		Marks         int
	}
	if err := json.Unmarshal(bytes.ReplaceAll(m[1], []byte("&quot;"), []byte(`"`)), &charts); err != nil {
		t.Fatalf("%v: %s", err, m[1])
	}
	want := map[string]int{"latency-cdf": 1, "latency-histogram": 2, "throughput": 1, "latency-time": 2, "wire-frames": 4}
	for id, least := range want {
		c, ok := charts[id]
		if !ok {
			t.Errorf("chart %s is not on the page", id)
			continue
		}
		if c.Width < 300 || c.Height < 100 || c.Marks < least {
			t.Errorf("chart %s: %.0f×%.0f px with %d non-empty marks, want a visible chart with at least %d", id, c.Width, c.Height, c.Marks, least)
		}
	}

	shot := filepath.Join(dir, "report.png")
	chromium(t, "--screenshot="+shot, "file://"+report)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Pixels of the charts' two ink colours (#1f6fb2 and #c2410c).
	near := func(r, g, b uint32, R, G, B uint32) bool {
		d := func(x, y uint32) uint32 {
			if x > y {
				return x - y
			}
			return y - x
		}
		return d(r>>8, R)+d(g>>8, G)+d(b>>8, B) < 60
	}
	var blue, orange int
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if near(r, g, b, 0x1f, 0x6f, 0xb2) {
				blue++
			} else if near(r, g, b, 0xc2, 0x41, 0x0c) {
				orange++
			}
		}
	}
	t.Logf("screenshot %v: %d blue and %d orange pixels", bounds.Size(), blue, orange)
	if blue < 3000 || orange < 200 {
		t.Errorf("the screenshot shows %d pixels of the charts' blue and %d of their orange: the charts did not render", blue, orange)
	}
}
