package gossip

import (
	"math"
	"strconv"
	"strings"
)

// Metadata keys an announced RPC server sets beside MetaRPCAddr and
// MetaServices.
const (
	// MetaHealth is HealthServing or HealthNotServing.
	MetaHealth = "health"
	// MetaLoad is the server's Load, as Load.String writes it.
	MetaLoad = "load"
)

// Values under MetaHealth.
const (
	HealthServing    = "serving"
	HealthNotServing = "not_serving"
)

// Load is one reading of an RPC server's load.
type Load struct {
	// InFlight is the calls in progress.
	InFlight int64
	// QPS is the calls finished per second since the last reading.
	QPS float64
	// Utilization is from 0 (idle) to 1 (saturated).
	Utilization float64
}

// String encodes l compactly, as MetaLoad's value: calls in flight, calls
// per second and utilisation, comma-separated ("12,850,0.31").
func (l Load) String() string {
	return strconv.FormatInt(l.InFlight, 10) + "," +
		strconv.FormatFloat(l.QPS, 'f', 0, 64) + "," +
		strconv.FormatFloat(l.Utilization, 'f', 2, 64)
}

// ParseLoad decodes a MetaLoad value; it reports false for anything that
// String could not have written.
func ParseLoad(s string) (Load, bool) {
	parts := strings.Split(s, ",")
	if len(parts) != 3 {
		return Load{}, false
	}
	in, err1 := strconv.ParseInt(parts[0], 10, 64)
	qps, err2 := strconv.ParseFloat(parts[1], 64)
	util, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || in < 0 || !(qps >= 0) || math.IsInf(qps, 0) || !(util >= 0 && util <= 1) {
		return Load{}, false
	}
	return Load{InFlight: in, QPS: qps, Utilization: util}, true
}

// Load returns the load the member announces under MetaLoad.
func (m Member) Load() (Load, bool) { return ParseLoad(m.Meta[MetaLoad]) }
