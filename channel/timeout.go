package channel

import (
	"errors"
	"strconv"
	"time"
)

// grpc-timeout (PROTOCOL-HTTP2): at most 8 ASCII digits, then a unit:
// H hours, M minutes, S seconds, m milliseconds, u microseconds,
// n nanoseconds.
const maxTimeoutDigits = 8

var timeoutUnits = [...]struct {
	unit byte
	d    time.Duration
}{
	{'n', time.Nanosecond},
	{'u', time.Microsecond},
	{'m', time.Millisecond},
	{'S', time.Second},
	{'M', time.Minute},
	{'H', time.Hour},
}

// appendTimeout appends the grpc-timeout value for d: the finest unit
// whose count fits in 8 digits, rounded up so the server never sees a
// deadline earlier than ours. d ≤ 0 encodes as 1n (already expired).
func appendTimeout(dst []byte, d time.Duration) []byte {
	if d <= 0 {
		return append(dst, '1', 'n')
	}
	const maxCount = 99999999
	for _, u := range timeoutUnits {
		n := d / u.d
		if d%u.d != 0 {
			n++
		}
		if n <= maxCount {
			dst = strconv.AppendInt(dst, int64(n), 10)
			return append(dst, u.unit)
		}
	}
	dst = strconv.AppendInt(dst, maxCount, 10)
	return append(dst, 'H')
}

var errBadTimeout = errors.New("malformed grpc-timeout")

// parseTimeout parses a grpc-timeout value. Values too large for a
// time.Duration saturate at its maximum.
func parseTimeout(s string) (time.Duration, error) {
	if len(s) < 2 || len(s) > maxTimeoutDigits+1 {
		return 0, errBadTimeout
	}
	var unit time.Duration
	for _, u := range timeoutUnits {
		if u.unit == s[len(s)-1] {
			unit = u.d
		}
	}
	if unit == 0 {
		return 0, errBadTimeout
	}
	var n int64
	for i := 0; i < len(s)-1; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errBadTimeout
		}
		n = n*10 + int64(c-'0')
	}
	if n > int64(maxDuration/unit) {
		return maxDuration, nil
	}
	return time.Duration(n) * unit, nil
}

const maxDuration = time.Duration(1<<63 - 1)
