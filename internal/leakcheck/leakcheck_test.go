package leakcheck

import (
	"strings"
	"testing"
)

func TestNewSeesNewGoroutines(t *testing.T) {
	before := ids()
	stop := make(chan struct{})
	go func() { <-stop }()
	leaked := New(before)
	close(stop)
	if len(leaked) != 1 || !strings.Contains(leaked[0], "TestNewSeesNewGoroutines") {
		t.Fatalf("new goroutines: %q", leaked)
	}
}
