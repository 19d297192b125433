package leaktest

import (
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// goroutines returns the stacks of the goroutines running now, other than
// the caller's and the test framework's.
func goroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if g == "" || strings.Contains(g, "testing.(*T).Run") || strings.Contains(g, "testing.tRunner") ||
			strings.Contains(g, "testing.(*M).") || strings.Contains(g, "runtime.goexit") && strings.Contains(g, "created by runtime") ||
			strings.Contains(g, "signal.signal_recv") || strings.Contains(g, "goroutines()") {
			continue
		}
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// Check records the goroutines at the start of a test and fails the test
// if, at its end, new ones are still running after a grace period of a
// second.
func Check(t testing.TB) {
	t.Helper()
	before := map[string]bool{}
	for _, g := range goroutines() {
		before[firstFrame(g)] = true
	}
	t.Cleanup(func() {
		var leaked []string
		for try := 0; try < 50; try++ {
			leaked = leaked[:0]
			for _, g := range goroutines() {
				if !before[firstFrame(g)] {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("%d goroutines left behind:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	})
}

// firstFrame identifies a goroutine by the function it is in and where it
// was created, ignoring its number and state.
func firstFrame(g string) string {
	lines := strings.Split(g, "\n")
	var key []string
	for i, l := range lines {
		if i == 0 {
			continue // "goroutine N [state]:"
		}
		if strings.HasPrefix(l, "\t") {
			continue // file:line
		}
		key = append(key, l)
	}
	return strings.Join(key, "|")
}
