package torture

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// ProcessStats are what an attack cost the server's process, read from
// /proc (Linux, a process on this machine).
type ProcessStats struct {
	// RSSBefore, RSSAfter and RSSPeak are the resident set size when the
	// attack began, once its connections were closed, and the largest
	// sampled (every 50 ms) in between, in bytes.
	RSSBefore int64 `json:"rss_before_bytes"`
	RSSAfter  int64 `json:"rss_after_bytes"`
	RSSPeak   int64 `json:"rss_peak_bytes"`
	// CPU is the processor time (user and system) the process used
	// meanwhile.
	CPU Seconds `json:"cpu_seconds"`
}

// clockTicks is USER_HZ, the unit of the times in /proc/PID/stat: 100 on
// every Linux architecture's user-space ABI.
const clockTicks = 100

// rssSampleInterval is how often a sampler reads the resident set size.
const rssSampleInterval = 50 * time.Millisecond

// readRSS returns the resident set size of pid (VmRSS in /proc/PID/status).
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseRSS(b)
}

func parseRSS(status []byte) (int64, error) {
	for _, line := range bytes.Split(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS line in kB in the process status")
}

// readCPU returns the user and system time pid has used (/proc/PID/stat).
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseCPU(b)
}

func parseCPU(stat []byte) (time.Duration, error) {
	// The command name, in parentheses, may hold spaces and parentheses:
	// the fields that follow start after the last ')'. utime and stime are
	// fields 14 and 15, counting from 1 with the pid.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed process stat")
	}
	f := bytes.Fields(stat[i+1:])
	const utime = 14 - 3 // f[0] is field 3, the state
	if len(f) <= utime+1 {
		return 0, fmt.Errorf("process stat has %d fields after the name, want at least %d", len(f), utime+2)
	}
	var ticks int64
	for _, s := range f[utime : utime+2] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process stat: %v", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// procSampler measures a process over one stretch of time.
type procSampler struct {
	pid    int
	before int64
	cpu0   time.Duration
	mu     sync.Mutex
	peak   int64
	stop   chan struct{}
	done   chan struct{}
}

// startSampling reads the process now and samples its RSS until finish.
func startSampling(pid int) *procSampler {
	s := &procSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	s.before, _ = readRSS(pid)
	s.cpu0, _ = readCPU(pid)
	s.peak = s.before
	go func() {
		defer close(s.done)
		t := time.NewTicker(rssSampleInterval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
			if rss, err := readRSS(pid); err == nil {
				s.mu.Lock()
				s.peak = max(s.peak, rss)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// finish stops sampling and returns the figures.
func (s *procSampler) finish() *ProcessStats {
	close(s.stop)
	<-s.done
	after, _ := readRSS(s.pid)
	cpu, _ := readCPU(s.pid)
	return &ProcessStats{
		RSSBefore: s.before,
		RSSAfter:  after,
		RSSPeak:   max(s.peak, after),
		CPU:       Seconds(cpu - s.cpu0),
	}
}
