package torture

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseCPU(t *testing.T) {
	// The name holds a space and a parenthesis; utime 250 and stime 50
	// ticks are 3 s.
	stat := "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 7 0 100 1000000 300 18446744073709551615\n"
	got, err := parseCPU([]byte(stat))
	if err != nil {
		t.Fatal(err)
	}
	if got != 3*time.Second {
		t.Errorf("got %v, want 3s", got)
	}
	if _, err := parseCPU([]byte("4242 (x) S 1 2")); err == nil {
		t.Error("a truncated stat parsed")
	}
}

func TestParseRSS(t *testing.T) {
	status := "Name:\tserver\nVmPeak:\t  900 kB\nVmRSS:\t   12345 kB\nThreads:\t7\n"
	got, err := parseRSS([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if got != 12345<<10 {
		t.Errorf("got %d, want %d", got, 12345<<10)
	}
	if _, err := parseRSS([]byte("Name:\tkthread\n")); err == nil {
		t.Error("a status without VmRSS parsed")
	}
}

// TestSampleSelf measures this process while it allocates and spins.
func TestSampleSelf(t *testing.T) {
	s := startSampling(os.Getpid())
	keep := make([]byte, 64<<20)
	for i := range keep {
		keep[i] = byte(i)
	}
	for t0 := time.Now(); time.Since(t0) < 200*time.Millisecond; {
	}
	time.Sleep(2 * rssSampleInterval)
	st := s.finish()
	if st.RSSBefore <= 0 || st.RSSPeak < st.RSSBefore+32<<20 {
		t.Errorf("RSS before %d, peak %d after touching 64 MiB", st.RSSBefore, st.RSSPeak)
	}
	if cpu := time.Duration(st.CPU); cpu < 100*time.Millisecond {
		t.Errorf("CPU %v after spinning 200ms", cpu)
	}
	runtime.KeepAlive(keep)
}
