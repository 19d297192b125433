package channel

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
)

// methodConfig is one methodConfig entry of a service config, as the calls
// of the methods it names use it. It is never changed once parsed.
type methodConfig struct {
	timeout      time.Duration // 0: none
	waitForReady int8          // 0 unset, 1 true, -1 false
	maxReq       int           // 0: unset
	maxResp      int           // 0: unset
	retry        *retryPolicy
	hedge        *hedgingPolicy
}

// retryPolicy is gRFC A6's retryPolicy.
type retryPolicy struct {
	maxAttempts    int
	initialBackoff time.Duration
	maxBackoff     time.Duration
	multiplier     float64
	codes          codeSet
}

// hedgingPolicy is gRFC A6's hedgingPolicy.
type hedgingPolicy struct {
	maxAttempts int
	delay       time.Duration
	nonFatal    codeSet
}

// throttlePolicy is the service config's retryThrottling.
type throttlePolicy struct {
	maxTokens float64
	ratio     float64
}

// codeSet is a set of status codes, one bit each.
type codeSet uint32

func (s codeSet) has(c codes.Code) bool { return c < 32 && s&(1<<c) != 0 }

// maxCallAttempts caps maxAttempts of retry and hedging policies, as
// gRFC A6 allows and grpc-go does by default.
const maxCallAttempts = 5

// methodConfigs indexes a service config's method configs by the names
// they match: "/service/method", "service", or every method.
type methodConfigs struct {
	byMethod  map[string]*methodConfig
	byService map[string]*methodConfig
	all       *methodConfig
}

// lookup returns the config of method ("/service/method"), nil for none.
// It allocates nothing.
func (m *methodConfigs) lookup(method string) *methodConfig {
	if mc := m.byMethod[method]; mc != nil {
		return mc
	}
	if len(method) > 1 && method[0] == '/' {
		if i := strings.LastIndexByte(method, '/'); i > 0 {
			if mc := m.byService[method[1:i]]; mc != nil {
				return mc
			}
		}
	}
	return m.all
}

// jsonMethodConfig is a methodConfig entry as JSON has it.
type jsonMethodConfig struct {
	Name []struct {
		Service string `json:"service"`
		Method  string `json:"method"`
	} `json:"name"`
	WaitForReady            *bool           `json:"waitForReady"`
	Timeout                 *string         `json:"timeout"`
	MaxRequestMessageBytes  json.RawMessage `json:"maxRequestMessageBytes"`
	MaxResponseMessageBytes json.RawMessage `json:"maxResponseMessageBytes"`
	RetryPolicy             *struct {
		MaxAttempts          json.RawMessage   `json:"maxAttempts"`
		InitialBackoff       *string           `json:"initialBackoff"`
		MaxBackoff           *string           `json:"maxBackoff"`
		BackoffMultiplier    *float64          `json:"backoffMultiplier"`
		RetryableStatusCodes []json.RawMessage `json:"retryableStatusCodes"`
	} `json:"retryPolicy"`
	HedgingPolicy *struct {
		MaxAttempts         json.RawMessage   `json:"maxAttempts"`
		HedgingDelay        *string           `json:"hedgingDelay"`
		NonFatalStatusCodes []json.RawMessage `json:"nonFatalStatusCodes"`
	} `json:"hedgingPolicy"`
}

// parseMethodConfigs parses the methodConfig list of a service config.
func parseMethodConfigs(list []jsonMethodConfig) (methodConfigs, error) {
	var m methodConfigs
	seen := map[string]bool{}
	for i, j := range list {
		if j.Name == nil {
			continue // matches nothing, as in grpc-go
		}
		mc, err := j.parse()
		if err != nil {
			return m, fmt.Errorf("methodConfig[%d]: %v", i, err)
		}
		for _, n := range j.Name {
			if n.Service == "" && n.Method != "" {
				return m, fmt.Errorf("methodConfig[%d]: name with method %q but no service", i, n.Method)
			}
			key := n.Service + "/" + n.Method
			if seen[key] {
				return m, fmt.Errorf("methodConfig[%d]: name %q appears twice", i, key)
			}
			seen[key] = true
			switch {
			case n.Service == "":
				m.all = mc
			case n.Method == "":
				if m.byService == nil {
					m.byService = map[string]*methodConfig{}
				}
				m.byService[n.Service] = mc
			default:
				if m.byMethod == nil {
					m.byMethod = map[string]*methodConfig{}
				}
				m.byMethod["/"+n.Service+"/"+n.Method] = mc
			}
		}
	}
	return m, nil
}

func (j *jsonMethodConfig) parse() (*methodConfig, error) {
	mc := &methodConfig{}
	if j.WaitForReady != nil {
		mc.waitForReady = -1
		if *j.WaitForReady {
			mc.waitForReady = 1
		}
	}
	if j.Timeout != nil {
		d, err := parseDuration(*j.Timeout)
		if err != nil {
			return nil, fmt.Errorf("timeout: %v", err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("timeout %q is not positive", *j.Timeout)
		}
		mc.timeout = d
	}
	var err error
	if mc.maxReq, err = parseMessageBytes(j.MaxRequestMessageBytes); err != nil {
		return nil, fmt.Errorf("maxRequestMessageBytes: %v", err)
	}
	if mc.maxResp, err = parseMessageBytes(j.MaxResponseMessageBytes); err != nil {
		return nil, fmt.Errorf("maxResponseMessageBytes: %v", err)
	}
	if j.RetryPolicy != nil && j.HedgingPolicy != nil {
		return nil, errors.New("retryPolicy and hedgingPolicy are mutually exclusive")
	}
	if rp := j.RetryPolicy; rp != nil {
		p := &retryPolicy{}
		if p.maxAttempts, err = parseAttempts(rp.MaxAttempts); err != nil {
			return nil, fmt.Errorf("retryPolicy: %v", err)
		}
		if rp.InitialBackoff == nil || rp.MaxBackoff == nil {
			return nil, errors.New("retryPolicy: initialBackoff and maxBackoff are required")
		}
		if p.initialBackoff, err = parsePositiveDuration(*rp.InitialBackoff); err != nil {
			return nil, fmt.Errorf("retryPolicy: initialBackoff: %v", err)
		}
		if p.maxBackoff, err = parsePositiveDuration(*rp.MaxBackoff); err != nil {
			return nil, fmt.Errorf("retryPolicy: maxBackoff: %v", err)
		}
		if rp.BackoffMultiplier == nil || !(*rp.BackoffMultiplier > 0) || math.IsInf(*rp.BackoffMultiplier, 0) {
			return nil, errors.New("retryPolicy: backoffMultiplier must be a number above 0")
		}
		p.multiplier = *rp.BackoffMultiplier
		if len(rp.RetryableStatusCodes) == 0 {
			return nil, errors.New("retryPolicy: retryableStatusCodes must name at least one code")
		}
		if p.codes, err = parseCodes(rp.RetryableStatusCodes); err != nil {
			return nil, fmt.Errorf("retryPolicy: retryableStatusCodes: %v", err)
		}
		if p.codes.has(codes.OK) {
			return nil, errors.New("retryPolicy: OK is not a retryable status code")
		}
		mc.retry = p
	}
	if hp := j.HedgingPolicy; hp != nil {
		p := &hedgingPolicy{}
		if p.maxAttempts, err = parseAttempts(hp.MaxAttempts); err != nil {
			return nil, fmt.Errorf("hedgingPolicy: %v", err)
		}
		if hp.HedgingDelay != nil {
			if p.delay, err = parseDuration(*hp.HedgingDelay); err != nil {
				return nil, fmt.Errorf("hedgingPolicy: hedgingDelay: %v", err)
			}
			if p.delay < 0 {
				return nil, fmt.Errorf("hedgingPolicy: hedgingDelay %q is negative", *hp.HedgingDelay)
			}
		}
		if p.nonFatal, err = parseCodes(hp.NonFatalStatusCodes); err != nil {
			return nil, fmt.Errorf("hedgingPolicy: nonFatalStatusCodes: %v", err)
		}
		if p.nonFatal.has(codes.OK) {
			return nil, errors.New("hedgingPolicy: OK is not a non-fatal status code")
		}
		mc.hedge = p
	}
	return mc, nil
}

// parseAttempts parses maxAttempts: an integer of at least 2, capped at
// maxCallAttempts.
func parseAttempts(raw json.RawMessage) (int, error) {
	if raw == nil {
		return 0, errors.New("maxAttempts is required")
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil || n != math.Trunc(n) {
		return 0, fmt.Errorf("maxAttempts %s is not an integer", raw)
	}
	if n < 2 {
		return 0, fmt.Errorf("maxAttempts %s is below 2", raw)
	}
	return int(min(n, maxCallAttempts)), nil
}

// parseMessageBytes parses a size limit: an integer, as a JSON number or
// the string protobuf's JSON gives an int64; 0 when absent.
func parseMessageBytes(raw json.RawMessage) (int, error) {
	if raw == nil || string(raw) == "null" {
		return 0, nil
	}
	s := string(raw)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s is not a number of bytes", raw)
	}
	if n == 0 {
		return 0, fmt.Errorf("%s allows no message at all", raw)
	}
	return int(min(n, math.MaxInt32)), nil
}

// parseCodes parses status codes given by name ("UNAVAILABLE") or number.
func parseCodes(list []json.RawMessage) (codeSet, error) {
	var s codeSet
	for _, raw := range list {
		c, err := parseCode(raw)
		if err != nil {
			return 0, err
		}
		s |= 1 << c
	}
	return s, nil
}

func parseCode(raw json.RawMessage) (codes.Code, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		for c := codes.OK; c <= codes.Unauthenticated; c++ {
			if codeNames[c] == name {
				return c, nil
			}
		}
		return 0, fmt.Errorf("unknown status code %q", name)
	}
	n, err := strconv.ParseUint(string(raw), 10, 8)
	if err != nil || n > uint64(codes.Unauthenticated) {
		return 0, fmt.Errorf("unknown status code %s", raw)
	}
	return codes.Code(n), nil
}

// codeNames are the codes' names in google.rpc.Code, which service
// configs use.
var codeNames = [...]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN",
	codes.InvalidArgument: "INVALID_ARGUMENT", codes.DeadlineExceeded: "DEADLINE_EXCEEDED",
	codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED",
	codes.OutOfRange: "OUT_OF_RANGE", codes.Unimplemented: "UNIMPLEMENTED",
	codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE", codes.DataLoss: "DATA_LOSS",
	codes.Unauthenticated: "UNAUTHENTICATED",
}

// parsePositiveDuration parses a duration that must be above zero.
func parsePositiveDuration(s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err == nil && d <= 0 {
		err = fmt.Errorf("%q is not positive", s)
	}
	return d, err
}

// parseDuration parses a google.protobuf.Duration in its JSON form: a
// decimal number of seconds with at most 9 fractional digits and the
// suffix "s" ("1.5s", "-0.001s"). Durations beyond time.Duration's range
// are clamped to it.
func parseDuration(s string) (time.Duration, error) {
	num, ok := strings.CutSuffix(s, "s")
	if !ok {
		return 0, fmt.Errorf("duration %q does not end in s", s)
	}
	neg := strings.HasPrefix(num, "-")
	if neg {
		num = num[1:]
	}
	whole, frac, _ := strings.Cut(num, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("duration %q has no digits", s)
	}
	if len(frac) > 9 {
		return 0, fmt.Errorf("duration %q has more than 9 digits after the point", s)
	}
	var sec, ns uint64
	var err error
	if whole != "" {
		if !allDigits(whole) {
			return 0, fmt.Errorf("malformed duration %q", s)
		}
		if sec, err = strconv.ParseUint(whole, 10, 64); err != nil || sec > 315_576_000_000 {
			return 0, fmt.Errorf("duration %q is out of range", s)
		}
	}
	if frac != "" {
		if !allDigits(frac) {
			return 0, fmt.Errorf("malformed duration %q", s)
		}
		ns, _ = strconv.ParseUint(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	const maxSec = math.MaxInt64 / uint64(time.Second)
	d := time.Duration(math.MaxInt64)
	if sec < maxSec {
		d = time.Duration(sec)*time.Second + time.Duration(ns)
	}
	if neg {
		d = -d
	}
	return d, nil
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// jsonThrottle is retryThrottling as JSON has it.
type jsonThrottle struct {
	MaxTokens  *float64 `json:"maxTokens"`
	TokenRatio *float64 `json:"tokenRatio"`
}

func (j *jsonThrottle) parse() (*throttlePolicy, error) {
	if j.MaxTokens == nil || !(*j.MaxTokens > 0 && *j.MaxTokens <= 1000) {
		return nil, errors.New("retryThrottling: maxTokens must be above 0 and at most 1000")
	}
	if j.TokenRatio == nil || !(*j.TokenRatio > 0) || math.IsInf(*j.TokenRatio, 0) {
		return nil, errors.New("retryThrottling: tokenRatio must be a number above 0")
	}
	// Three decimal places, as gRFC A6 specifies.
	return &throttlePolicy{maxTokens: *j.MaxTokens, ratio: math.Round(*j.TokenRatio*1000) / 1000}, nil
}
