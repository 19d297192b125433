package bench

import (
	"fmt"
	"math"
	"time"
)

// ScheduleKind is the shape of a rate or concurrency schedule.
type ScheduleKind uint8

const (
	// Const holds Start for the whole run.
	Const ScheduleKind = iota
	// Step adds Step every StepDuration, up to End.
	Step
	// Line adds Step every second, continuously, up to End.
	Line
)

// Schedule is a value (calls per second, or concurrent calls) over the
// run's time, as ghz's --load-schedule and --concurrency-schedule.
type Schedule struct {
	Kind  ScheduleKind
	Start float64
	// Step is the change per StepDuration (Step) or per second (Line);
	// negative steps go down to End.
	Step         float64
	StepDuration time.Duration
	// End bounds the value (zero: no bound on a rising schedule).
	End float64
	// MaxDuration, when positive, freezes the value after this long.
	MaxDuration time.Duration
}

// ConstRate is a fixed rate of calls per second.
func ConstRate(rps float64) *Schedule { return &Schedule{Kind: Const, Start: rps} }

// CheckSchedule returns an error saying what is wrong with s, a
// schedule of what ("rate", "concurrency"), or nil.
func CheckSchedule(s *Schedule, what string) error { return s.check(what) }

func (s *Schedule) check(what string) error {
	switch {
	case !(s.Start > 0) || math.IsInf(s.Start, 0):
		return fmt.Errorf("bench: the %s schedule must start above zero, not %g", what, s.Start)
	case s.Kind == Step && s.StepDuration <= 0:
		return fmt.Errorf("bench: a step %s schedule needs a positive step duration", what)
	case s.Kind != Const && s.Step < 0 && !(s.End > 0):
		return fmt.Errorf("bench: a falling %s schedule needs an end above zero", what)
	case s.Kind != Const && s.Step == 0:
		return fmt.Errorf("bench: a %s schedule that steps needs a non-zero step", what)
	case s.End < 0:
		return fmt.Errorf("bench: the %s schedule's end must not be negative", what)
	}
	return nil
}

// clamp bounds v by End in the schedule's direction.
func (s *Schedule) clamp(v float64) float64 {
	if s.End <= 0 {
		return v
	}
	if s.Step >= 0 {
		return min(v, s.End)
	}
	return max(v, s.End)
}

// Value returns the schedule's value t into the run.
func (s *Schedule) Value(t time.Duration) float64 {
	if s.MaxDuration > 0 {
		t = min(t, s.MaxDuration)
	}
	switch s.Kind {
	case Step:
		return s.clamp(s.Start + s.Step*math.Floor(float64(t)/float64(s.StepDuration)))
	case Line:
		return s.clamp(s.Start + s.Step*t.Seconds())
	}
	return s.Start
}

// integral returns ∫₀ᵗ Value, in value·seconds (for a rate: the number of
// calls due by t).
func (s *Schedule) integral(t float64) float64 {
	if s.Kind == Const {
		return s.Start * t
	}
	if m := s.MaxDuration.Seconds(); m > 0 && t > m {
		return s.integral(m) + s.Value(s.MaxDuration)*(t-m)
	}
	switch s.Kind {
	case Step:
		d := s.StepDuration.Seconds()
		j := math.Floor(t / d)
		// Steps before the value reaches End, then End.
		jc := math.Inf(1)
		if s.End > 0 {
			jc = math.Max(math.Ceil((s.End-s.Start)/s.Step), 0)
		}
		full := math.Min(j, jc)
		n := d * (s.Start*full + s.Step*full*(full-1)/2)
		if j > full {
			n += d * (j - full) * s.End
		}
		return n + (t-j*d)*s.Value(time.Duration(t*1e9))
	case Line:
		tc := math.Inf(1)
		if s.End > 0 {
			tc = math.Max((s.End-s.Start)/s.Step, 0)
		}
		if t <= tc {
			return s.Start*t + s.Step*t*t/2
		}
		return s.Start*tc + s.Step*tc*tc/2 + (t-tc)*s.End
	}
	return s.Start * t
}

// At returns when, from the start of the run, call k (from 0) of a rate
// schedule is due: the first time by which k calls are due.
func (s *Schedule) At(k uint64) time.Duration {
	want := float64(k)
	if s.Kind == Const {
		return time.Duration(want / s.Start * 1e9)
	}
	hi := 1.0
	for s.integral(hi) < want {
		hi *= 2
	}
	lo := 0.0
	for hi-lo > 1e-7 {
		mid := (lo + hi) / 2
		if s.integral(mid) >= want {
			hi = mid
		} else {
			lo = mid
		}
	}
	return time.Duration(hi * 1e9)
}

// Slots returns how many calls of a rate schedule are due before d.
func (s *Schedule) Slots(d time.Duration) uint64 {
	n := s.integral(d.Seconds())
	return uint64(math.Ceil(n - 1e-9))
}
