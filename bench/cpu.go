package bench

import "time"

// CPUUsage is CPU time spent by this process.
type CPUUsage struct {
	User, System time.Duration
}

// Total returns user plus system time.
func (u CPUUsage) Total() time.Duration { return u.User + u.System }

// Sub returns u minus an earlier reading o.
func (u CPUUsage) Sub(o CPUUsage) CPUUsage {
	return CPUUsage{User: u.User - o.User, System: u.System - o.System}
}
