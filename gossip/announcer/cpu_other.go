//go:build !unix

package announcer

import "time"

// processCPU is not measured here; utilisation is 0 unless
// Load.SetUtilization gives it.
func processCPU() time.Duration { return 0 }

func cpus() int { return 1 }
