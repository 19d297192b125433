package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// chart geometry, in SVG user units.
const (
	chartW, chartH = 640.0, 260.0
	padL, padR     = 64.0, 16.0
	padT, padB     = 16.0, 40.0
)

// svgChart builds one chart's SVG from series of points already scaled
// to [0,1]×[0,1].
type svgChart struct {
	id, title, xLabel, yLabel string
	xTicks, yTicks            []tick
	lines                     []svgLine
	bars                      []svgBar
}

type tick struct {
	at    float64 // 0..1
	label string
}

type svgLine struct {
	class string
	pts   [][2]float64
}

type svgBar struct {
	x0, x1, y float64
	class     string // "bar" unless set
}

func px(x float64) float64 { return padL + x*(chartW-padL-padR) }
func py(y float64) float64 { return chartH - padB - y*(chartH-padT-padB) }

func (c *svgChart) render() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<figure><figcaption>%s</figcaption><svg id="%s" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="%s">`,
		template.HTMLEscapeString(c.title), c.id, chartW, chartH, chartW, chartH, template.HTMLEscapeString(c.title))
	fmt.Fprintf(&b, `<rect class="frame" x="%g" y="%g" width="%g" height="%g"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
	for _, t := range c.xTicks {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" y1="%g" x2="%.1f" y2="%g"/><text class="tick" x="%.1f" y="%g" text-anchor="middle">%s</text>`,
			px(t.at), padT, px(t.at), chartH-padB, px(t.at), chartH-padB+14, template.HTMLEscapeString(t.label))
	}
	for _, t := range c.yTicks {
		fmt.Fprintf(&b, `<line class="grid" x1="%g" y1="%.1f" x2="%g" y2="%.1f"/><text class="tick" x="%g" y="%.1f" text-anchor="end">%s</text>`,
			padL, py(t.at), chartW-padR, py(t.at), padL-4, py(t.at)+4, template.HTMLEscapeString(t.label))
	}
	for _, r := range c.bars {
		class := r.class
		if class == "" {
			class = "bar"
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, class, px(r.x0), py(r.y), math.Max(px(r.x1)-px(r.x0)-1, 1), py(0)-py(r.y))
	}
	for _, l := range c.lines {
		if len(l.pts) == 0 {
			continue
		}
		var d strings.Builder
		for i, p := range l.pts {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, px(p[0]), py(p[1]))
		}
		fmt.Fprintf(&b, `<path class="%s" d="%s"/>`, l.class, strings.TrimSpace(d.String()))
	}
	fmt.Fprintf(&b, `<text class="label" x="%g" y="%g" text-anchor="middle">%s</text>`, (padL+chartW-padR)/2, chartH-6, template.HTMLEscapeString(c.xLabel))
	fmt.Fprintf(&b, `<text class="label" x="12" y="%g" text-anchor="middle" transform="rotate(-90 12 %g)">%s</text>`, (padT+chartH-padB)/2, (padT+chartH-padB)/2, template.HTMLEscapeString(c.yLabel))
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

// logScale maps durations on a log axis between lo and hi.
type logScale struct{ lo, hi float64 }

func newLogScale(lo, hi time.Duration) logScale {
	l, h := math.Max(float64(lo), 1), math.Max(float64(hi), 1)
	l = math.Pow(10, math.Floor(math.Log10(l)))
	h = math.Pow(10, math.Ceil(math.Log10(h)))
	if h <= l {
		h = l * 10
	}
	return logScale{l, h}
}

func (s logScale) at(d time.Duration) float64 {
	v := math.Max(float64(d), s.lo)
	return (math.Log10(v) - math.Log10(s.lo)) / (math.Log10(s.hi) - math.Log10(s.lo))
}

func (s logScale) ticks() []tick {
	var ts []tick
	for v := s.lo; v <= s.hi*1.0001; v *= 10 {
		ts = append(ts, tick{s.at(time.Duration(v)), fmtDur(time.Duration(v))})
	}
	return ts
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.4gs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.4gms", float64(d)/1e6)
	case d >= time.Microsecond:
		return fmt.Sprintf("%.4gµs", float64(d)/1e3)
	}
	return fmt.Sprintf("%dns", d)
}

// linTicks returns about five round ticks from 0 to hi.
func linTicks(hi float64, format func(float64) string) (float64, []tick) {
	if hi <= 0 {
		hi = 1
	}
	step := math.Pow(10, math.Floor(math.Log10(hi/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if hi/(step*m) <= 6 {
			step *= m
			break
		}
	}
	top := math.Ceil(hi/step) * step
	var ts []tick
	for i := 0.0; i*step <= top*1.0001; i++ {
		ts = append(ts, tick{i * step / top, format(i * step)})
	}
	return top, ts
}

func plainTick(v float64) string { return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64) }

func (rep *Report) charts() []template.HTML {
	x := &rep.H2RPC
	var out []template.HTML
	scale := newLogScale(rep.Fastest, rep.Slowest)

	cdf := &svgChart{id: "latency-cdf", title: "Latency distribution (CDF)", xLabel: "latency (log scale)", yLabel: "fraction of calls", xTicks: scale.ticks()}
	_, cdf.yTicks = linTicks(1, plainTick)
	line := svgLine{class: "line"}
	for _, p := range x.CDF {
		line.pts = append(line.pts, [2]float64{scale.at(p.Latency), p.Fraction})
	}
	cdf.lines = append(cdf.lines, line)
	out = append(out, cdf.render())

	hist := &svgChart{id: "latency-histogram", title: "Latency histogram", xLabel: "latency (log scale)", yLabel: "calls", xTicks: scale.ticks()}
	var most uint64
	for _, b := range x.LatencyBucket {
		most = max(most, b.Count)
	}
	top, yt := linTicks(float64(most), plainTick)
	hist.yTicks = yt
	for _, b := range x.LatencyBucket {
		hist.bars = append(hist.bars, svgBar{x0: scale.at(b.Low), x1: scale.at(max(b.High, b.Low+1)), y: float64(b.Count) / top})
	}
	out = append(out, hist.render())

	var tEnd float64
	var rMax float64
	var lMax time.Duration
	for _, p := range x.Series {
		tEnd = math.Max(tEnd, p.At.Seconds())
		rMax = math.Max(rMax, p.Rate)
		lMax = max(lMax, p.P99)
	}
	tTop, tTicks := linTicks(tEnd, func(v float64) string { return fmt.Sprintf("%.4gs", v) })
	thr := &svgChart{id: "throughput", title: "Throughput over time", xLabel: "time", yLabel: "calls/s", xTicks: tTicks}
	rTop, rTicks := linTicks(rMax, plainTick)
	thr.yTicks = rTicks
	tl := svgLine{class: "line"}
	for _, p := range x.Series {
		tl.pts = append(tl.pts, [2]float64{p.At.Seconds() / tTop, p.Rate / rTop})
	}
	thr.lines = append(thr.lines, tl)
	out = append(out, thr.render())

	lat := &svgChart{id: "latency-time", title: "Latency over time (p50 blue, p99 orange)", xLabel: "time", yLabel: "latency", xTicks: tTicks}
	lTop, lTicks := linTicks(float64(lMax), func(v float64) string { return fmtDur(time.Duration(v)) })
	lat.yTicks = lTicks
	p50, p99 := svgLine{class: "line"}, svgLine{class: "line2"}
	for _, p := range x.Series {
		p50.pts = append(p50.pts, [2]float64{p.At.Seconds() / tTop, float64(p.P50) / lTop})
		p99.pts = append(p99.pts, [2]float64{p.At.Seconds() / tTop, float64(p.P99) / lTop})
	}
	lat.lines = append(lat.lines, p50, p99)
	out = append(out, lat.render())

	if wr := x.Wire; wr != nil {
		fr := &svgChart{id: "wire-frames", title: "Frames per call by type (sent blue, received orange)", xLabel: "frame type", yLabel: "frames per call"}
		var names []string
		var vals []float64
		n := float64(max(rep.Count, 1))
		for _, name := range FrameTypeNames {
			if wr.FramesSent[name]+wr.FramesReceived[name] == 0 {
				continue
			}
			names = append(names, name)
			vals = append(vals, float64(wr.FramesSent[name])/n, float64(wr.FramesReceived[name])/n)
		}
		var vMax float64
		for _, v := range vals {
			vMax = math.Max(vMax, v)
		}
		vTop, vTicks := linTicks(vMax, plainTick)
		fr.yTicks = vTicks
		slot := 1 / float64(max(len(names), 1))
		for i, name := range names {
			x0 := float64(i) * slot
			fr.bars = append(fr.bars, svgBar{x0: x0 + 0.1*slot, x1: x0 + 0.5*slot, y: vals[2*i] / vTop},
				svgBar{x0: x0 + 0.5*slot, x1: x0 + 0.9*slot, y: vals[2*i+1] / vTop, class: "bar2"})
			fr.xTicks = append(fr.xTicks, tick{x0 + 0.5*slot, name})
		}
		out = append(out, fr.render())
	}
	return out
}

var reportPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>h2rpc bench: {{.R.Options.Call}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:20px}table{border-collapse:collapse;margin:8px 0 16px}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
svg .frame{fill:#fafafa;stroke:#999}svg .grid{stroke:#e4e4e4}svg .tick,svg .label{font-size:11px;fill:#555}
svg .line{fill:none;stroke:#1f6fb2;stroke-width:2}svg .line2{fill:none;stroke:#c2410c;stroke-width:2}svg .bar{fill:#1f6fb2}svg .bar2{fill:#c2410c}
.warn{color:#a33;font-weight:600}
</style></head><body>
<h1>h2rpc bench: {{.R.Options.Call}}</h1>
<p>{{.R.Options.Target}} · {{.R.Options.Kind}} · {{.R.Options.Connections}} connections · {{.R.Options.Concurrency}} concurrent calls · {{.Model}} · {{.R.Date.Format "2006-01-02 15:04:05 MST"}}</p>
{{range .R.H2RPC.Warnings}}<p class="warn">{{.}}</p>{{end}}
{{if .R.H2RPC.Stopped}}<p class="warn">The run ended early: {{.R.H2RPC.Stopped}}. These are its partial results.</p>{{end}}
<table id="summary"><tr><th>calls</th><td class="n">{{.R.Count}}</td></tr><tr><th>calls/s</th><td class="n">{{printf "%.1f" .R.RPS}}</td></tr>
<tr><th>errors</th><td class="n">{{.R.H2RPC.Errors}}</td></tr>{{range .Quantiles}}<tr><th>{{.Name}}</th><td class="n">{{.Value}}</td></tr>{{end}}
<tr><th>generator CPU per call</th><td class="n">{{.CPUPerCall}}</td></tr><tr><th>generator CPU use</th><td class="n">{{printf "%.0f%%" .CPUPct}} of {{.R.Options.CPUs}}</td></tr>
{{if .Open}}<tr><th>late / never sent</th><td class="n">{{.R.H2RPC.Late}} / {{.R.H2RPC.Dropped}}</td></tr>{{end}}
</table>
<h2>Status codes</h2><table id="codes">{{range .Codes}}<tr><th>{{.Name}}</th><td class="n">{{.Count}}</td></tr>{{end}}</table>
{{if .Errors}}<h2>Errors</h2><table id="errors">{{range .Errors}}<tr><td class="n">{{.Count}}</td><td>{{.Name}}</td></tr>{{end}}</table>{{end}}
<div class="charts">{{range .Charts}}{{.}}{{end}}</div>
{{with .R.H2RPC.Wire}}<h2>Wire</h2><table id="wire">
<tr><th>connections</th><td class="n">{{.Connections}}</td></tr>
<tr><th>bytes sent / received</th><td class="n">{{.BytesSent}} / {{.BytesReceived}}</td></tr>
<tr><th>bytes per call sent / received</th><td class="n">{{printf "%.1f" .BytesSentPerCall}} / {{printf "%.1f" .BytesRecvPerCall}}</td></tr>
<tr><th>write syscalls (per call)</th><td class="n">{{.Writes}} ({{printf "%.3f" .WritesPerCall}})</td></tr>
<tr><th>read syscalls</th><td class="n">{{.Reads}}</td></tr>
<tr><th>flow-control stalls sending / receiving</th><td class="n">{{.FlowStallsSent}} / {{.FlowStallsRecv}}</td></tr>
<tr><th>HPACK ratio sent / received</th><td class="n">{{printf "%.2f" .HPACKRatioSent}} / {{printf "%.2f" .HPACKRatioRecv}}</td></tr>
</table>{{end}}
</body></html>
`))

type namedValue struct{ Name, Value string }

// WriteHTML writes a self-contained HTML report: no script, no network,
// the charts as inline SVG.
func (rep *Report) WriteHTML(w io.Writer) error {
	x := &rep.H2RPC
	model := "closed loop"
	if rep.Options.Rate > 0 || rep.Options.Schedule != "" {
		model = "closed loop at a rate"
		if rep.Options.OpenLoop {
			model = "open loop, latency from intended starts"
		}
	}
	var qs []namedValue
	for _, q := range Quantiles {
		qs = append(qs, namedValue{q.Name, fmtMS(x.Quantiles[q.Name])})
	}
	qs = append(qs, namedValue{"max", fmtMS(x.Quantiles["max"])})
	return reportPage.Execute(w, map[string]any{
		"R": rep, "Model": model, "Quantiles": qs,
		"CPUPerCall": fmt.Sprintf("%.1f µs", float64(x.CPUPerCall)/1e3), "CPUPct": 100 * x.CPUUtil,
		"Open":  rep.Options.OpenLoop,
		"Codes": sortCounts(rep.StatusCodeDistribution), "Errors": sortCounts(rep.ErrorDistribution),
		"Charts": rep.charts(),
	})
}

func fmtMS(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }
