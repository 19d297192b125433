package frame

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// checkNoLeaks fails t if goroutines that did not exist when it was called
// are still running when t ends, once they have had up to two seconds to
// finish. Tests using it must not run in parallel with others.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	before := goroutineIDs()
	t.Cleanup(func() {
		leaked := newGoroutines(before)
		for deadline := time.Now().Add(2 * time.Second); len(leaked) > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond) // let exiting goroutines finish
			leaked = newGoroutines(before)
		}
		for _, s := range leaked {
			t.Errorf("goroutine left behind:\n%s", s)
		}
	})
}

// newGoroutines returns the stacks of the goroutines not in before, except
// those the testing package runs tests on.
func newGoroutines(before map[string]bool) []string {
	var s []string
	for id, stack := range goroutines() {
		if !before[id] && !strings.Contains(stack, "testing.tRunner") {
			s = append(s, stack)
		}
	}
	return s
}

// goroutines returns the stack of every goroutine, by ID.
func goroutines() map[string]string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	m := make(map[string]string)
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		// Each begins "goroutine 12 [running]:".
		if id, _, ok := strings.Cut(strings.TrimPrefix(string(g), "goroutine "), " "); ok {
			m[id] = string(g)
		}
	}
	return m
}

func goroutineIDs() map[string]bool {
	ids := make(map[string]bool)
	for id := range goroutines() {
		ids[id] = true
	}
	return ids
}

func TestLeakCheckSeesNewGoroutines(t *testing.T) {
	before := goroutineIDs()
	stop := make(chan struct{})
	go func() { <-stop }()
	leaked := newGoroutines(before)
	close(stop)
	if len(leaked) != 1 || !strings.Contains(leaked[0], "TestLeakCheckSeesNewGoroutines") {
		t.Fatalf("new goroutines: %q", leaked)
	}
}
