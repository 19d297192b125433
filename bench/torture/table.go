package torture

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// starNote explains the star after an attack's name.
const starNote = "* expected to be stopped: the server should close the connection (GOAWAY ENHANCE_YOUR_CALM).\n"

// WriteTable writes the report as a table, one row per attack, for people.
func (r *Report) WriteTable(w io.Writer) error {
	transport := "h2c"
	if r.TLS {
		transport = "TLS"
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "h2rpc torture: %s (%s), %v per attack\n", r.Target, transport, time.Duration(r.Duration))
	fmt.Fprintf(b, "probe baseline: p50 %s, p99 %s, %s served", percentileOf(r.Baseline, r.Baseline.P50), percentileOf(r.Baseline, r.Baseline.P99), okRatio(r.Baseline))
	if bp := r.BaselineProcess; bp != nil {
		fmt.Fprintf(b, "; server RSS %s MiB, CPU %.2f s", mib(bp.RSSAfter), time.Duration(bp.CPU).Seconds())
	}
	b.WriteString("\n\n")

	withProc := r.BaselineProcess != nil
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	head := "ATTACK\tCVE\tCONNS\tFRAMES SENT\tFRAMES/S\tCLOSED\tHOW\tPROBE P50\tPROBE P99\tPROBE OK"
	if withProc {
		head += "\tRSS MiB BEFORE/AFTER/PEAK\tCPU S"
	}
	fmt.Fprintln(tw, head)
	for _, a := range r.Attacks {
		name, cve := label(a.Name, a.ExpectClose), orDash(a.CVE)
		if a.Error != "" && len(a.Conns) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\tnot run: %s\t-\t-\t-", name, cve, a.Error)
			if withProc {
				fmt.Fprint(tw, "\t-\t-")
			}
			fmt.Fprintln(tw)
			continue
		}
		closed := fmt.Sprintf("%d/%d", a.Closed, len(a.Conns))
		if a.Closed > 0 {
			closed += " at " + shortDuration(time.Duration(a.FirstClose))
		}
		how := a.Outcome
		if a.Error != "" {
			how += " (" + a.Error + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s", name, cve, len(a.Conns),
			count(float64(a.FramesSent)), count(a.FrameRate), closed, how,
			percentileOf(a.Probe, a.Probe.P50), percentileOf(a.Probe, a.Probe.P99), okRatio(a.Probe))
		if withProc {
			if p := a.Process; p != nil {
				fmt.Fprintf(tw, "\t%s/%s/%s\t%.2f", mib(p.RSSBefore), mib(p.RSSAfter), mib(p.RSSPeak), time.Duration(p.CPU).Seconds())
			} else {
				fmt.Fprint(tw, "\t-\t-")
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	b.WriteString("\n" + starNote)
	b.WriteString("Probe: one well-behaved client's unary calls during each flood; OK is the share answered (any status) within its timeout.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteAttacks lists the attacks Run knows, one a line, for people.
func WriteAttacks(w io.Writer) error {
	b := &strings.Builder{}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTACK\tCVE\tCONNS\tWHAT THE ATTACKER SENDS")
	for _, a := range attacks {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", label(a.Name, a.ExpectClose), orDash(a.CVE), a.Connections, a.Summary)
	}
	tw.Flush()
	b.WriteString("\n" + starNote)
	_, err := io.WriteString(w, b.String())
	return err
}

// label is an attack's name, starred when a server is expected to stop it.
func label(name string, expectClose bool) string {
	if expectClose {
		return name + " *"
	}
	return name
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// percentileOf prints one of the probe's percentiles, d, or "-" when no
// call was served.
func percentileOf(s ProbeStats, d Seconds) string {
	if s.Served == 0 {
		return "-"
	}
	return shortDuration(time.Duration(d))
}

func okRatio(s ProbeStats) string {
	if s.Calls == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*s.OKRatio(), 'f', 1, 64) + "%"
}

// shortDuration prints d with three significant digits at most.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', 0, 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'g', 3, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
}

// count prints n compactly: 950, 12.3k, 4.56M.
func count(n float64) string {
	switch {
	case n < 10_000:
		return strconv.FormatFloat(n, 'f', 0, 64)
	case n < 1_000_000:
		return strconv.FormatFloat(n/1e3, 'f', 1, 64) + "k"
	}
	return strconv.FormatFloat(n/1e6, 'f', 2, 64) + "M"
}

func mib(b int64) string {
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 0, 64)
}
