package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
BenchmarkUnary1B/h2rpc-2     	   30000	     20000 ns/op	     50000 calls/s	     19000 p50-ns	     600 B/op	      12 allocs/op
BenchmarkUnary1B/h2rpc-2     	   30000	     26000 ns/op	     41666 calls/s	     21000 p50-ns	     640 B/op	      14 allocs/op
BenchmarkUnary1B/h2rpc-2     	   30000	     22000 ns/op	     45454 calls/s	     20000 p50-ns	     620 B/op	      13 allocs/op
BenchmarkUnary1B/grpc-go-2   	   10000	     60000 ns/op	     16666 calls/s	     58000 p50-ns	    9000 B/op	     150 allocs/op
BenchmarkUnary1B/tcp-2       	   50000	     15000 ns/op	     66666 calls/s	     14000 p50-ns	      80.00 reqB	      86.00 respB	       0 B/op	       0 allocs/op
BenchmarkStream1MiB/h2rpc-2  	    1000	    500000 ns/op	 2097.15 MB/s	      2000 msgs/s	 1048600 B/op	       5 allocs/op
BenchmarkStream1MiB/grpc-go-2	    1000	    700000 ns/op	 1497.97 MB/s	      1428 msgs/s	 1180000 B/op	      52 allocs/op
PASS
`

func TestParseAndMedians(t *testing.T) {
	r := &results{values: map[string]map[string]map[string][]float64{}}
	if err := r.parse(strings.NewReader(sample)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.cases, ","); got != "Unary1B,Stream1MiB" {
		t.Fatalf("cases %s", got)
	}
	for _, c := range []struct {
		c, stack, unit string
		want           float64
	}{
		{"Unary1B", "h2rpc", "ns/op", 22000},
		{"Unary1B", "h2rpc", "p50-ns", 20000},
		{"Unary1B", "h2rpc", "allocs/op", 13},
		{"Unary1B", "grpc-go", "allocs/op", 150},
		{"Unary1B", "tcp", "reqB", 80},
		{"Stream1MiB", "h2rpc", "MB/s", 2097.15},
	} {
		if got, ok := r.get(c.c, c.stack, c.unit); !ok || got != c.want {
			t.Errorf("%s/%s %s = %v, %v; want %v", c.c, c.stack, c.unit, got, ok, c.want)
		}
	}
	if got := r.runs("Unary1B", "h2rpc"); got != 3 {
		t.Errorf("runs = %d, want 3", got)
	}

	var out bytes.Buffer
	r.print(&out)
	missed := r.targets(&out)
	text := out.String()
	for _, want := range []string{
		"| Unary1B | p50 latency | 20.0 µs | 58.0 µs | 0.34× |",
		"| Unary1B | allocs/op | 13 | 150 | 0.09× |",
		"| Stream1MiB | MB/s | 2097 | 1498 | 1.40× |",
		"h2rpc p50 / tcp p50 = 1.43",
		"MISSED  unary 1 B, one at a time: p50 latency / raw TCP p50: 1.43",
		"met     unary 1 B, one at a time: p50 latency / grpc-go's: 0.34",
		"met     unary 1 B: allocations per call, client and server: 13.00",
		"MISSED  1 MiB messages streamed: MB/s / grpc-go's: 1.40",
		"no data unary 1 B, 64 concurrent",
		"Runs more than 20% apart (min–max):\n  Unary1B/h2rpc ns/op: 20000–26000\n\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if missed != 2 {
		t.Errorf("missed = %d, want 2", missed)
	}
}
