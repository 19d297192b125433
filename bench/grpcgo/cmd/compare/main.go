// Command compare reads the output of this module's benchmarks
// (go test -bench, any -count) and prints h2rpc and grpc-go side by side:
// the median of each metric over the runs, the ratios, and whether h2rpc
// meets the design's performance targets.
//
// Usage:
//
//	go test -run='^$' -bench=. -benchmem -count=3 . | go run ./cmd/compare
//	go run ./cmd/compare bench.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

const (
	ours   = "h2rpc"
	theirs = "grpc-go"
	floor  = "tcp"
)

// results holds every value seen: case, then stack, then unit.
type results struct {
	cases  []string // in the order first seen
	values map[string]map[string]map[string][]float64
}

func main() {
	strict := flag.Bool("strict", false, "exit with status 1 when a target is missed")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: compare [-strict] [file ...]\n\nReads go test -bench output (standard input when no file is named).\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	r := &results{values: map[string]map[string]map[string][]float64{}}
	if flag.NArg() == 0 {
		if err := r.parse(os.Stdin); err != nil {
			fatal(err)
		}
	}
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fatal(err)
		}
		err = r.parse(f)
		f.Close()
		if err != nil {
			fatal(err)
		}
	}
	if len(r.cases) == 0 {
		fatal(fmt.Errorf("no benchmark results in the input"))
	}
	r.print(os.Stdout)
	missed := r.targets(os.Stdout)
	if *strict && missed > 0 {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(2)
}

// parse reads benchmark lines: "BenchmarkCase/stack-P  N  v unit  v unit …".
func (r *results) parse(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			continue
		}
		c, stack := name[:i], name[i+1:]
		for j := 2; j+1 < len(f); j += 2 {
			v, err := strconv.ParseFloat(f[j], 64)
			if err != nil {
				continue
			}
			r.add(c, stack, f[j+1], v)
		}
	}
	return sc.Err()
}

func (r *results) add(c, stack, unit string, v float64) {
	byStack, ok := r.values[c]
	if !ok {
		byStack = map[string]map[string][]float64{}
		r.values[c] = byStack
		r.cases = append(r.cases, c)
	}
	byUnit, ok := byStack[stack]
	if !ok {
		byUnit = map[string][]float64{}
		byStack[stack] = byUnit
	}
	byUnit[unit] = append(byUnit[unit], v)
}

// get returns the median of a metric over the runs, and whether there was
// one.
func (r *results) get(c, stack, unit string) (float64, bool) {
	vs := r.values[c][stack][unit]
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// runs returns how many runs a case has for a stack.
func (r *results) runs(c, stack string) int {
	return len(r.values[c][stack]["ns/op"])
}

// rateUnit is the throughput metric of a case.
func (r *results) rateUnit(c string) string {
	for _, u := range []string{"MB/s", "calls/s", "msgs/s"} {
		if _, ok := r.get(c, ours, u); ok {
			return u
		}
		if _, ok := r.get(c, theirs, u); ok {
			return u
		}
	}
	return ""
}

type column struct {
	unit  string
	title string
	text  func(float64) string
}

func (r *results) print(w io.Writer) {
	n := 0
	for _, c := range r.cases {
		n = max(n, r.runs(c, ours), r.runs(c, theirs))
	}
	fmt.Fprintf(w, "h2rpc vs grpc-go: median of %d run(s) each; ratio is h2rpc / grpc-go.\n\n", n)
	fmt.Fprintln(w, "| case | metric | h2rpc | grpc-go | ratio |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|")
	for _, c := range r.cases {
		cols := []column{
			{"ns/op", "time/op", duration},
			{"p50-ns", "p50 latency", duration},
		}
		if u := r.rateUnit(c); u == "MB/s" {
			cols = append(cols, column{u, u, plain}, column{"msgs/s", "msgs/s", rate})
		} else if u != "" {
			cols = append(cols, column{u, u, rate})
		}
		cols = append(cols, column{"allocs/op", "allocs/op", plain}, column{"B/op", "B/op", size})
		for _, col := range cols {
			a, okA := r.get(c, ours, col.unit)
			b, okB := r.get(c, theirs, col.unit)
			if !okA && !okB {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", c, col.title, cell(a, okA, col.text), cell(b, okB, col.text), ratio(a, okA, b, okB))
		}
	}
	r.printNoisy(w)
	for _, c := range r.cases {
		p, ok := r.get(c, floor, "p50-ns")
		if !ok {
			continue
		}
		req, _ := r.get(c, floor, "reqB")
		resp, _ := r.get(c, floor, "respB")
		fmt.Fprintf(w, "\nRaw TCP floor for %s: ping-pong of %.0f bytes out and %.0f back (an h2rpc call's wire bytes), p50 %s",
			c, req, resp, duration(p))
		if rt, ok := r.get(c, floor, "calls/s"); ok {
			fmt.Fprintf(w, ", %s round trips/s", rate(rt))
		}
		fmt.Fprintln(w, ".")
		for _, st := range []string{ours, theirs} {
			if v, ok := r.get(c, st, "p50-ns"); ok {
				fmt.Fprintf(w, "  %s p50 / tcp p50 = %.2f\n", st, v/p)
			}
		}
	}
}

// noisy is how far apart, relative to their median, the runs of a metric
// may be before printNoisy names it.
const noisy = 0.2

// printNoisy names the time and rate metrics whose runs are far apart: on a
// busy machine their medians say less.
func (r *results) printNoisy(w io.Writer) {
	first := true
	for _, c := range r.cases {
		for _, st := range []string{ours, theirs, floor} {
			for _, u := range []string{"ns/op", "p50-ns", r.rateUnit(c)} {
				vs := r.values[c][st][u]
				m, ok := r.get(c, st, u)
				if len(vs) < 2 || !ok || m == 0 {
					continue
				}
				lo, hi := slices.Min(vs), slices.Max(vs)
				if (hi-lo)/m <= noisy {
					continue
				}
				if first {
					fmt.Fprintf(w, "\nRuns more than %.0f%% apart (min–max):\n", noisy*100)
					first = false
				}
				fmt.Fprintf(w, "  %s/%s %s: %s–%s\n", c, st, u, strconv.FormatFloat(lo, 'f', -1, 64), strconv.FormatFloat(hi, 'f', -1, 64))
			}
		}
	}
}

// target is one of the design's performance targets, checked on the
// medians.
type target struct {
	what   string
	value  func(r *results) (got float64, ok bool)
	atMost bool // value must be at most limit (else at least)
	limit  float64
}

// A ratio of h2rpc's to another stack's median.
func versus(c, unit, other string) func(r *results) (float64, bool) {
	return func(r *results) (float64, bool) {
		a, okA := r.get(c, ours, unit)
		b, okB := r.get(c, other, unit)
		if !okA || !okB || b == 0 {
			return 0, false
		}
		return a / b, true
	}
}

var targets = []target{
	{"unary 1 B, one at a time: p50 latency / raw TCP p50", versus("Unary1B", "p50-ns", floor), true, 1.3},
	{"unary 1 B, one at a time: p50 latency / grpc-go's", versus("Unary1B", "p50-ns", theirs), true, 0.5},
	{"unary 1 B, 64 concurrent on one connection: calls/s / grpc-go's", versus("Unary1BConcurrent64", "calls/s", theirs), false, 3},
	{"unary 1 B: allocations per call, client and server", func(r *results) (float64, bool) { return r.get("Unary1B", ours, "allocs/op") }, true, 15},
	{"streaming ping-pong 1 B: p50 latency / grpc-go's", versus("PingPong1B", "p50-ns", theirs), true, 0.6},
	{"streaming ping-pong 1 B, 64 streams: msgs/s / grpc-go's", versus("PingPong1BConcurrent64", "msgs/s", theirs), false, 3},
	{"1 MiB messages streamed: MB/s / grpc-go's", versus("Stream1MiB", "MB/s", theirs), false, 2},
}

// targets prints the design targets met and missed, and returns how many
// were missed.
func (r *results) targets(w io.Writer) int {
	fmt.Fprintln(w, "\nDesign targets (h2rpc):")
	missed := 0
	for _, t := range targets {
		got, ok := t.value(r)
		op := "≥"
		if t.atMost {
			op = "≤"
		}
		verdict := "no data"
		if ok {
			if (t.atMost && got <= t.limit) || (!t.atMost && got >= t.limit) {
				verdict = "met"
			} else {
				verdict = "MISSED"
				missed++
			}
		}
		fmt.Fprintf(w, "  %-7s %s: %s (target %s %s)\n", verdict, t.what, formatOK(got, ok), op, strconv.FormatFloat(t.limit, 'f', -1, 64))
	}
	return missed
}

func formatOK(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func cell(v float64, ok bool, text func(float64) string) string {
	if !ok {
		return "-"
	}
	return text(v)
}

func ratio(a float64, okA bool, b float64, okB bool) string {
	if !okA || !okB || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func plain(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func duration(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.1f", v)
}

func size(v float64) string {
	switch {
	case v >= 1<<20:
		return fmt.Sprintf("%.2f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}
