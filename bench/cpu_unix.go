//go:build unix

package bench

import (
	"syscall"
	"time"
)

// ReadCPUUsage returns the CPU time this process has used so far
// (getrusage).
func ReadCPUUsage() CPUUsage {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return CPUUsage{}
	}
	return CPUUsage{User: time.Duration(ru.Utime.Nano()), System: time.Duration(ru.Stime.Nano())}
}

// ChildCPUUsage returns the CPU time of a finished child process, from
// the rusage its ProcessState carries (nil gives zero).
func ChildCPUUsage(sys any) CPUUsage {
	ru, ok := sys.(*syscall.Rusage)
	if !ok || ru == nil {
		return CPUUsage{}
	}
	return CPUUsage{User: time.Duration(ru.Utime.Nano()), System: time.Duration(ru.Stime.Nano())}
}
