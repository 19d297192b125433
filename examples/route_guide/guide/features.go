package guide

import (
	_ "embed"
	"encoding/json"
	"fmt"

	pb "github.com/h2rpc/h2rpc/examples/route_guide/routeguide"
	"google.golang.org/protobuf/encoding/protojson"
)

// features.json holds invented places along a stretch of coast.
//
//go:embed features.json
var defaultDatabase []byte

// E7 bounds of a point: degrees times 10^7.
const (
	maxLatitude  = 90 * 1e7
	maxLongitude = 180 * 1e7
)

// DefaultFeatures returns the features of the database the package embeds,
// newly parsed, so the caller may change them.
func DefaultFeatures() []*pb.Feature {
	f, err := ParseFeatures(defaultDatabase)
	if err != nil {
		// The embedded file is part of the program; a test parses it.
		panic("guide: embedded features.json: " + err.Error())
	}
	return f
}

// ParseFeatures parses a database: a JSON array of features such as
// {"name": "Harbour lighthouse", "location": {"latitude": 435012340,
// "longitude": -701234560}}. Every feature needs a location within the
// bounds of a Point, and no two features may share one.
func ParseFeatures(data []byte) ([]*pb.Feature, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("features: want a JSON array of features: %w", err)
	}
	features := make([]*pb.Feature, 0, len(raw))
	seen := make(map[point]int, len(raw))
	for i, r := range raw {
		f := new(pb.Feature)
		if err := protojson.Unmarshal(r, f); err != nil {
			return nil, fmt.Errorf("features: feature %d: %w", i, err)
		}
		if f.GetLocation() == nil {
			return nil, fmt.Errorf("features: feature %d (%q) has no location", i, f.GetName())
		}
		if err := checkPoint(f.GetLocation()); err != nil {
			return nil, fmt.Errorf("features: feature %d (%q): %w", i, f.GetName(), err)
		}
		k := keyOf(f.GetLocation())
		if j, dup := seen[k]; dup {
			return nil, fmt.Errorf("features: features %d and %d share the location %v", j, i, k)
		}
		seen[k] = i
		features = append(features, f)
	}
	return features, nil
}

// checkPoint says what is wrong with p, if anything.
func checkPoint(p *pb.Point) error {
	if lat := p.GetLatitude(); lat < -maxLatitude || lat > maxLatitude {
		return fmt.Errorf("latitude %d is outside ±90 degrees (±900000000 in E7)", lat)
	}
	if lon := p.GetLongitude(); lon < -maxLongitude || lon > maxLongitude {
		return fmt.Errorf("longitude %d is outside ±180 degrees (±1800000000 in E7)", lon)
	}
	return nil
}

// point is a Point as a map key.
type point struct{ lat, lon int32 }

func keyOf(p *pb.Point) point { return point{p.GetLatitude(), p.GetLongitude()} }

func (k point) String() string {
	return fmt.Sprintf("(%.7f, %.7f)", float64(k.lat)/1e7, float64(k.lon)/1e7)
}
