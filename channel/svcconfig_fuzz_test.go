package channel

import (
	"fmt"
	"testing"
	"time"
)

// FuzzParseServiceConfig: whatever the JSON, parseServiceConfig returns a
// config or an error, never panics, and what it accepts keeps A6's bounds.
func FuzzParseServiceConfig(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"loadBalancingConfig": [{"round_robin": {}}]}`,
		`{"methodConfig": [{"name": [{"service": "s", "method": "m"}], "timeout": "1.5s", "waitForReady": true, "maxRequestMessageBytes": 10, "maxResponseMessageBytes": "20"}]}`,
		`{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 9, "initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE", 10]}}]}`,
		`{"methodConfig": [{"name": [{"service": "s"}], "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0s", "nonFatalStatusCodes": ["ABORTED"]}}], "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1234}}`,
		`{"healthCheckConfig": {"serviceName": "x"}}`,
		`{"methodConfig": [{"name": [{}], "timeout": "-0.000000001s"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) {
		sc, err := parseServiceConfig(js)
		if err != nil {
			if sc != nil {
				t.Fatalf("error %v with a config", err)
			}
			return
		}
		check := func(mc *methodConfig) {
			if mc == nil {
				return
			}
			if mc.timeout < 0 || mc.maxReq < 0 || mc.maxResp < 0 {
				t.Fatalf("negative limits: %+v", mc)
			}
			if mc.retry != nil && mc.hedge != nil {
				t.Fatal("both a retry and a hedging policy")
			}
			if p := mc.retry; p != nil {
				if p.maxAttempts < 2 || p.maxAttempts > maxCallAttempts || p.initialBackoff <= 0 || p.maxBackoff <= 0 || !(p.multiplier > 0) || p.codes == 0 {
					t.Fatalf("retry policy out of bounds: %+v", p)
				}
			}
			if p := mc.hedge; p != nil && (p.maxAttempts < 2 || p.maxAttempts > maxCallAttempts || p.delay < 0) {
				t.Fatalf("hedging policy out of bounds: %+v", p)
			}
		}
		for _, mc := range sc.methods.byMethod {
			check(mc)
		}
		for _, mc := range sc.methods.byService {
			check(mc)
		}
		check(sc.methods.all)
		if p := sc.throttle; p != nil && (!(p.maxTokens > 0) || p.maxTokens > 1000 || !(p.ratio >= 0)) {
			t.Fatalf("throttle out of bounds: %+v", p)
		}
	})
}

// FuzzParseDuration: parseDuration never panics, and what it accepts ends
// in "s" and prints back to the same duration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1s", "1.5s", "-0.001s", ".5s", "5.s", "315576000000s", "1e3s", "s", "+1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDuration(s)
		if err != nil {
			return
		}
		if s == "" || s[len(s)-1] != 's' {
			t.Fatalf("accepted %q", s)
		}
		if d != time.Duration(1<<63-1) && d != -time.Duration(1<<63-1) {
			back, err := parseDuration(formatSeconds(d))
			if err != nil || back != d {
				t.Fatalf("%q = %v, printed %q, parsed back %v, %v", s, d, formatSeconds(d), back, err)
			}
		}
	})
}

// formatSeconds prints d as protobuf's JSON does.
func formatSeconds(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%d.%09ds", sign, d/time.Second, d%time.Second)
}
