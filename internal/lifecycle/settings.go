package lifecycle

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Settings are the seed and duration of a randomized test. They come from
// the flags -NAME.seed and -NAME.duration, whose defaults are the
// environment variables NAME_SEED and NAME_DURATION (NAME upper-cased).
type Settings struct {
	name     string
	seed     *uint64
	duration *time.Duration
	err      error // a malformed environment variable
}

// Lifecycle are the settings of the lifecycle tests: -lifecycle.seed and
// -lifecycle.duration (LIFECYCLE_SEED, LIFECYCLE_DURATION); by default a
// new seed every run and 1 s per test.
var Lifecycle = NewSettings("lifecycle", time.Second)

// NewSettings registers the flags of a randomized test called name, with
// a default duration; call it from a package-level variable, before the
// test binary parses its flags. A zero seed means a new one every run.
func NewSettings(name string, duration time.Duration) *Settings {
	s := &Settings{name: name}
	env := strings.ToUpper(name)
	var seed uint64
	if v := os.Getenv(env + "_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.err = fmt.Errorf("%s_SEED=%q is not an unsigned integer", env, v)
		}
		seed = n
	}
	if v := os.Getenv(env + "_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			s.err = fmt.Errorf("%s_DURATION=%q is not a duration such as 90s or 5m", env, v)
		} else {
			duration = d
		}
	}
	s.seed = flag.Uint64(name+".seed", seed, "seed of the randomized "+name+" test (0: a new one each run)")
	s.duration = flag.Duration(name+".duration", duration, "how long the randomized "+name+" test runs")
	return s
}

// Duration returns how long the test runs; it fails t on a malformed
// environment variable.
func (s *Settings) Duration(t testing.TB) time.Duration {
	t.Helper()
	if s.err != nil {
		t.Fatal(s.err)
	}
	return *s.duration
}

// Rand returns the test's random source and its seed. The seed is printed
// at once on standard error (go test shows it when the test fails, even by
// a panic) and again in the log of a failed test, with how to rerun it.
func (s *Settings) Rand(t testing.TB) (*rand.Rand, uint64) {
	t.Helper()
	if s.err != nil {
		t.Fatal(s.err)
	}
	seed := *s.seed
	if seed == 0 {
		seed = rand.Uint64() | 1
	}
	rerun := fmt.Sprintf("%s: seed %d; rerun with -%s.seed=%d or %s_SEED=%d", t.Name(), seed, s.name, seed, strings.ToUpper(s.name), seed)
	fmt.Fprintln(os.Stderr, rerun)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(rerun)
		}
	})
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), seed
}
