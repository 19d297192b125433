package channel

import "testing"

func TestParseHealthCheckConfig(t *testing.T) {
	for _, c := range []struct {
		js   string
		want string // "<nil>" for none
		err  bool
	}{
		{`{}`, "<nil>", false},
		{`{"loadBalancingPolicy": "round_robin"}`, "<nil>", false},
		{`{"healthCheckConfig": {}}`, "", false},
		{`{"healthCheckConfig": {"serviceName": "a.B"}}`, "a.B", false},
		{`{"healthCheckConfig": {"serviceName": 3}}`, "", true},
		{`{"healthCheckConfig": []}`, "", true},
	} {
		sc, err := parseServiceConfig(c.js)
		if (err != nil) != c.err {
			t.Errorf("%s: error %v, want error %v", c.js, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		got := "<nil>"
		if sc.healthService != nil {
			got = *sc.healthService
		}
		if got != c.want {
			t.Errorf("%s: serviceName %q, want %q", c.js, got, c.want)
		}
	}
}

func TestServingStatus(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want uint64
		err  bool
	}{
		{nil, 0, false},
		{[]byte{0x08, 0x01}, 1, false},
		{[]byte{0x08, 0x02}, 2, false},
		{[]byte{0x12, 0x01, 'x', 0x08, 0x01}, 1, false}, // an unknown field first
		{[]byte{0x08}, 0, true},
		{[]byte{0x12, 0x05, 'x'}, 0, true},
	} {
		got, err := servingStatus(c.b)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("servingStatus(%x) = %d, %v; want %d, error %v", c.b, got, err, c.want, c.err)
		}
	}
}
