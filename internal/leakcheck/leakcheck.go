package leakcheck

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Check fails t if goroutines that did not exist when it was called, and
// that run (or were started by) this module's code, are still running when
// t ends, once they have had up to five seconds to finish: a closed
// connection's goroutines end asynchronously. Tests using it must not run in
// parallel with others.
func Check(t testing.TB) {
	t.Helper()
	before := ids()
	t.Cleanup(func() {
		leaked := New(before)
		for deadline := time.Now().Add(5 * time.Second); len(leaked) > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
			leaked = New(before)
		}
		for _, s := range leaked {
			t.Errorf("goroutine left behind:\n%s", s)
		}
	})
}

// module marks the stacks of goroutines that run or were started by our code.
const module = "github.com/h2rpc/h2rpc/"

// New returns the stacks of the goroutines whose IDs are not in before and
// that run or were started by this module's code, except test functions.
func New(before map[string]bool) []string {
	var s []string
	for id, stack := range stacks() {
		if !before[id] && strings.Contains(stack, module) && !strings.Contains(stack, "testing.tRunner") && !strings.Contains(stack, "testing.(*T).Run") {
			s = append(s, stack)
		}
	}
	return s
}

func ids() map[string]bool {
	m := make(map[string]bool)
	for id := range stacks() {
		m[id] = true
	}
	return m
}

// Stacks returns the stack of every goroutine running now.
func Stacks() []string {
	var out []string
	for _, s := range stacks() {
		out = append(out, s)
	}
	return out
}

// stacks returns the stack of every goroutine, by ID.
func stacks() map[string]string {
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
		if id, _, ok := strings.Cut(strings.TrimPrefix(string(g), "goroutine "), " "); ok {
			m[id] = string(g)
		}
	}
	return m
}
