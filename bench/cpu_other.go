//go:build !unix

package bench

// ReadCPUUsage returns zero: this system's CPU time is not read.
func ReadCPUUsage() CPUUsage { return CPUUsage{} }

// ChildCPUUsage returns zero: this system's CPU time is not read.
func ChildCPUUsage(any) CPUUsage { return CPUUsage{} }
