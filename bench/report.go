package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Options describe a run for its report.
type Options struct {
	Call        string  `json:"call"`
	Target      string  `json:"host"`
	Kind        string  `json:"kind"`
	Concurrency int     `json:"concurrency"`
	Connections int     `json:"connections"`
	Total       uint64  `json:"total,omitempty"`
	Duration    string  `json:"duration,omitempty"`
	Warmup      string  `json:"warmup,omitempty"`
	Rate        float64 `json:"rps,omitempty"`
	Schedule    string  `json:"loadSchedule,omitempty"`
	OpenLoop    bool    `json:"openLoop"`
	Insecure    bool    `json:"insecure"`
	CPUs        int     `json:"cpus"`
	Timeout     string  `json:"timeout,omitempty"`
	Client      string  `json:"client"`
}

// Quantiles are the latency quantiles every report shows.
var Quantiles = []struct {
	Name string
	Q    float64
}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}}

// ghzPercentages are the quantiles of ghz's latencyDistribution.
var ghzPercentages = []int{10, 25, 50, 75, 90, 95, 99}

// Report is a run's result as -O json writes it: ghz's top-level fields
// first (durations in nanoseconds, as ghz writes them), then h2rpc's own
// under "h2rpc".
type Report struct {
	Date                   time.Time         `json:"date"`
	EndReason              string            `json:"endReason"`
	Options                Options           `json:"options"`
	Count                  uint64            `json:"count"`
	Total                  time.Duration     `json:"total"`
	Average                time.Duration     `json:"average"`
	Fastest                time.Duration     `json:"fastest"`
	Slowest                time.Duration     `json:"slowest"`
	RPS                    float64           `json:"rps"`
	ErrorDistribution      map[string]uint64 `json:"errorDistribution"`
	StatusCodeDistribution map[string]uint64 `json:"statusCodeDistribution"`
	LatencyDistribution    []LatencyPoint    `json:"latencyDistribution"`
	Histogram              []HistogramBar    `json:"histogram"`
	H2RPC                  Extra             `json:"h2rpc"`
}

// LatencyPoint is one entry of ghz's latencyDistribution.
type LatencyPoint struct {
	Percentage int           `json:"percentage"`
	Latency    time.Duration `json:"latency"`
}

// HistogramBar is one bar of ghz's histogram (mark in seconds).
type HistogramBar struct {
	Mark      float64 `json:"mark"`
	Count     uint64  `json:"count"`
	Frequency float64 `json:"frequency"`
}

// Extra is what h2rpc reports beyond ghz's fields.
type Extra struct {
	Quantiles     map[string]time.Duration `json:"quantiles"`
	OK            uint64                   `json:"ok"`
	Errors        uint64                   `json:"errors"`
	Late          uint64                   `json:"late"`
	Dropped       uint64                   `json:"dropped"`
	MaxLag        time.Duration            `json:"maxLag"`
	Sent          uint64                   `json:"messagesSent"`
	Received      uint64                   `json:"messagesReceived"`
	CPU           time.Duration            `json:"cpu"`
	CPUPerCall    time.Duration            `json:"cpuPerCall"`
	CPUUtil       float64                  `json:"cpuUtilization"`
	ClientBound   bool                     `json:"clientBound"`
	Warnings      []string                 `json:"warnings,omitempty"`
	Stopped       string                   `json:"stopped,omitempty"`
	Wire          *WireReport              `json:"wire,omitempty"`
	Series        []Point                  `json:"series"`
	LatencyBucket []Bucket                 `json:"latencyBuckets"`
	CDF           []LatencyPoint2          `json:"cdf"`
}

// LatencyPoint2 is one point of the latency CDF: the fraction of calls
// at or below Latency.
type LatencyPoint2 struct {
	Fraction float64       `json:"fraction"`
	Latency  time.Duration `json:"latency"`
}

// WireReport is the wire counters in a report.
type WireReport struct {
	Connections      uint64            `json:"connections"`
	BytesSent        uint64            `json:"bytesSent"`
	BytesReceived    uint64            `json:"bytesReceived"`
	Writes           uint64            `json:"writeSyscalls"`
	Reads            uint64            `json:"readSyscalls"`
	WritesPerCall    float64           `json:"writeSyscallsPerCall"`
	BytesSentPerCall float64           `json:"bytesSentPerCall"`
	BytesRecvPerCall float64           `json:"bytesReceivedPerCall"`
	FramesSent       map[string]uint64 `json:"framesSent"`
	FramesReceived   map[string]uint64 `json:"framesReceived"`
	FlowStallsSent   uint64            `json:"flowControlStallsSending"`
	FlowStallsRecv   uint64            `json:"flowControlStallsReceiving"`
	HPACKRatioSent   float64           `json:"hpackRatioSent"`
	HPACKRatioRecv   float64           `json:"hpackRatioReceived"`
	HeaderBytesSent  uint64            `json:"headerBlockBytesSent"`
	HeaderBytesRecv  uint64            `json:"headerBlockBytesReceived"`
	HeaderListSent   uint64            `json:"headerListBytesSent"`
	HeaderListRecv   uint64            `json:"headerListBytesReceived"`
}

// ClientBoundAt is the share of its CPUs above which the generator's
// result is said to be bound by the generator.
const ClientBoundAt = 0.9

// NewReport builds the report of res; cpus is the number of CPUs the
// generator could use.
func NewReport(res *Result, opts Options, cpus int) *Report {
	if cpus <= 0 {
		cpus = runtime.GOMAXPROCS(0)
	}
	opts.CPUs = cpus
	opts.OpenLoop = res.OpenLoop
	h := res.Latency
	rep := &Report{
		Date: res.Start, Options: opts, EndReason: "normal",
		Count: res.Count, Total: res.Elapsed, Average: h.Mean(), Fastest: h.Min(), Slowest: h.Max(), RPS: res.Rate(),
		ErrorDistribution: res.ErrorMessages, StatusCodeDistribution: res.Codes,
	}
	if res.Stopped != "" {
		rep.EndReason = res.Stopped
	}
	for _, p := range ghzPercentages {
		rep.LatencyDistribution = append(rep.LatencyDistribution, LatencyPoint{p, h.Quantile(float64(p) / 100)})
	}
	buckets := h.Buckets(20)
	for _, b := range buckets {
		f := 0.0
		if res.Count > 0 {
			f = float64(b.Count) / float64(res.Count)
		}
		rep.Histogram = append(rep.Histogram, HistogramBar{Mark: b.High.Seconds(), Count: b.Count, Frequency: f})
	}
	x := &rep.H2RPC
	x.Quantiles = map[string]time.Duration{}
	for _, q := range Quantiles {
		x.Quantiles[q.Name] = h.Quantile(q.Q)
	}
	x.Quantiles["max"] = h.Max()
	x.OK, x.Errors = res.OK, res.Errors()
	x.Late, x.Dropped, x.MaxLag = res.Late, res.Dropped, res.MaxLag
	x.Sent, x.Received = res.Sent, res.Received
	x.CPU, x.CPUPerCall = res.Usage.Total(), res.CPUPerCall()
	if res.Elapsed > 0 {
		x.CPUUtil = res.Usage.Total().Seconds() / res.Elapsed.Seconds() / float64(cpus)
	}
	x.ClientBound = x.CPUUtil >= ClientBoundAt
	if x.ClientBound {
		x.Warnings = append(x.Warnings, fmt.Sprintf("client-bound: the generator used %.0f%% of its %d CPUs, so the figures measure the generator more than the server; give it more CPUs (--cpus) or a machine of its own", 100*x.CPUUtil, cpus))
	}
	if res.Dropped > 0 || res.Late > res.Count/100 {
		x.Warnings = append(x.Warnings, fmt.Sprintf("the generator fell behind the schedule: %d calls started late, %d never sent (raise -c, or lower the rate)", res.Late, res.Dropped))
	}
	x.Stopped = res.Stopped
	x.Series = res.Series
	if x.Series == nil {
		x.Series = []Point{}
	}
	x.LatencyBucket = h.Buckets(40)
	for i := 0; i <= 100; i++ {
		q := float64(i) / 100
		x.CDF = append(x.CDF, LatencyPoint2{q, h.Quantile(q)})
	}
	for _, q := range []float64{0.995, 0.999, 0.9999} {
		x.CDF = append(x.CDF, LatencyPoint2{q, h.Quantile(q)})
	}
	if w := res.Wire; w != nil {
		n := float64(max(res.Count, 1))
		wr := &WireReport{
			Connections: w.Conns, BytesSent: w.BytesOut, BytesReceived: w.BytesIn, Writes: w.Writes, Reads: w.Reads,
			WritesPerCall: float64(w.Writes) / n, BytesSentPerCall: float64(w.BytesOut) / n, BytesRecvPerCall: float64(w.BytesIn) / n,
			FramesSent: map[string]uint64{}, FramesReceived: map[string]uint64{},
			FlowStallsSent: w.StallsOut, FlowStallsRecv: w.StallsIn,
			HPACKRatioSent: w.HPACKRatioOut(), HPACKRatioRecv: w.HPACKRatioIn(),
			HeaderBytesSent: w.HeaderBlockOut, HeaderBytesRecv: w.HeaderBlockIn,
			HeaderListSent: w.HeaderListOut, HeaderListRecv: w.HeaderListIn,
		}
		for i, name := range FrameTypeNames {
			if w.FramesOut[i] > 0 {
				wr.FramesSent[name] = w.FramesOut[i]
			}
			if w.FramesIn[i] > 0 {
				wr.FramesReceived[name] = w.FramesIn[i]
			}
		}
		x.Wire = wr
	}
	return rep
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// ms formats a duration in milliseconds with two decimals, as ghz does.
func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

// WriteSummary writes the human-readable summary.
func (rep *Report) WriteSummary(w io.Writer) error {
	x := &rep.H2RPC
	var b strings.Builder
	fmt.Fprintf(&b, "\nSummary:\n")
	fmt.Fprintf(&b, "  Call:         %s (%s)\n", rep.Options.Call, rep.Options.Kind)
	fmt.Fprintf(&b, "  Target:       %s, %d connections, %d concurrent calls\n", rep.Options.Target, rep.Options.Connections, rep.Options.Concurrency)
	model := "closed loop"
	if rep.Options.Rate > 0 || rep.Options.Schedule != "" {
		if rep.Options.OpenLoop {
			model = "open loop (latency from each call's intended start)"
		} else {
			model = "closed loop held to a rate (latency from each call's actual start)"
		}
	}
	fmt.Fprintf(&b, "  Load:         %s\n", model)
	fmt.Fprintf(&b, "  Count:        %d\n", rep.Count)
	fmt.Fprintf(&b, "  Total:        %s\n", ms(rep.Total))
	fmt.Fprintf(&b, "  Slowest:      %s\n", ms(rep.Slowest))
	fmt.Fprintf(&b, "  Fastest:      %s\n", ms(rep.Fastest))
	fmt.Fprintf(&b, "  Average:      %s\n", ms(rep.Average))
	fmt.Fprintf(&b, "  Requests/sec: %.2f\n", rep.RPS)
	fmt.Fprintf(&b, "\nLatency:\n")
	for _, q := range Quantiles {
		fmt.Fprintf(&b, "  %-6s %s\n", q.Name, ms(x.Quantiles[q.Name]))
	}
	fmt.Fprintf(&b, "  %-6s %s\n", "max", ms(x.Quantiles["max"]))
	if rep.Options.Rate > 0 || rep.Options.Schedule != "" {
		fmt.Fprintf(&b, "\nSchedule: %d calls started late (largest delay %s), %d due but never sent\n", x.Late, ms(x.MaxLag), x.Dropped)
	}
	fmt.Fprintf(&b, "\nStatus code distribution:\n")
	for _, c := range sortCounts(rep.StatusCodeDistribution) {
		fmt.Fprintf(&b, "  [%s]   %d responses\n", c.Name, c.Count)
	}
	if len(rep.ErrorDistribution) > 0 {
		fmt.Fprintf(&b, "\nError distribution:\n")
		for _, c := range sortCounts(rep.ErrorDistribution) {
			fmt.Fprintf(&b, "  [%d]   %s\n", c.Count, c.Name)
		}
	}
	fmt.Fprintf(&b, "\nGenerator: %s CPU, %.1f µs per call, %.0f%% of %d CPUs\n",
		x.CPU.Round(time.Millisecond), float64(x.CPUPerCall)/1e3, 100*x.CPUUtil, rep.Options.CPUs)
	if wr := x.Wire; wr != nil {
		fmt.Fprintf(&b, "\nWire (%d connections):\n", wr.Connections)
		fmt.Fprintf(&b, "  bytes sent %d (%.1f per call), received %d (%.1f per call)\n", wr.BytesSent, wr.BytesSentPerCall, wr.BytesReceived, wr.BytesRecvPerCall)
		fmt.Fprintf(&b, "  write syscalls %d (%.3f per call), read syscalls %d\n", wr.Writes, wr.WritesPerCall, wr.Reads)
		fmt.Fprintf(&b, "  frames sent     %s\n", frameList(wr.FramesSent))
		fmt.Fprintf(&b, "  frames received %s\n", frameList(wr.FramesReceived))
		fmt.Fprintf(&b, "  flow-control stalls: %d sending, %d receiving\n", wr.FlowStallsSent, wr.FlowStallsRecv)
		fmt.Fprintf(&b, "  HPACK: headers sent %.1f× smaller than their lists, received %.1f×\n", wr.HPACKRatioSent, wr.HPACKRatioRecv)
	}
	for _, warn := range x.Warnings {
		fmt.Fprintf(&b, "\nwarning: %s\n", warn)
	}
	if x.Stopped != "" {
		fmt.Fprintf(&b, "\nThe run ended early: %s. The figures above are what it measured until then.\n", x.Stopped)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func frameList(m map[string]uint64) string {
	var parts []string
	for _, name := range FrameTypeNames {
		if n := m[name]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", name, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// WriteCSV writes the time series, one row per interval, with latencies
// in milliseconds. (ghz's CSV lists every call; keeping every call is
// what a constant-memory histogram avoids.)
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"elapsed (s)", "calls", "errors", "calls/s", "p50 (ms)", "p90 (ms)", "p99 (ms)", "max (ms)"})
	f := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }
	for _, p := range rep.H2RPC.Series {
		cw.Write([]string{strconv.FormatFloat(p.At.Seconds(), 'f', 3, 64), strconv.FormatUint(p.Calls, 10), strconv.FormatUint(p.Errors, 10),
			strconv.FormatFloat(p.Rate, 'f', 1, 64), f(p.P50), f(p.P90), f(p.P99), f(p.Max)})
	}
	cw.Flush()
	return cw.Error()
}
