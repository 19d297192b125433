package guide

import (
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	pb "github.com/h2rpc/h2rpc/examples/route_guide/routeguide"
)

// Server implements the RouteGuide service. It is safe for concurrent use:
// the features are read only, and the notes of RouteChat are guarded by a
// mutex.
type Server struct {
	pb.UnimplementedRouteGuideServer

	features []*pb.Feature
	byPoint  map[point]*pb.Feature
	now      func() time.Time // RecordRoute's clock

	mu    sync.Mutex
	notes map[point][]*pb.RouteNote // by location, oldest first
}

// NewServer returns a RouteGuide server over features (see ParseFeatures),
// which it keeps and does not change.
func NewServer(features []*pb.Feature) *Server {
	s := &Server{
		features: features,
		byPoint:  make(map[point]*pb.Feature, len(features)),
		now:      time.Now,
		notes:    make(map[point][]*pb.RouteNote),
	}
	for _, f := range features {
		s.byPoint[keyOf(f.GetLocation())] = f
	}
	return s
}

// GetFeature answers with the feature at p, or with a feature without a
// name at p when there is none.
func (s *Server) GetFeature(_ context.Context, p *pb.Point) (*pb.Feature, error) {
	if err := checkPoint(p); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if f, ok := s.byPoint[keyOf(p)]; ok {
		return f, nil
	}
	return &pb.Feature{Location: p}, nil
}

// ListFeatures sends the features inside r, borders included, in the
// database's order. Either corner may be the low one.
func (s *Server) ListFeatures(r *pb.Rectangle, stream pb.RouteGuide_ListFeaturesServer) error {
	if r.GetLo() == nil || r.GetHi() == nil {
		return status.Error(codes.InvalidArgument, "a rectangle needs both corners, lo and hi")
	}
	for _, f := range s.features {
		if inside(r, f.GetLocation()) {
			if err := stream.Send(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// RecordRoute reads the points of a route until the client ends it, then
// answers with their count, how many have a named feature, the distance
// along them and the time from the first point to the end (both capped at
// what an int32 holds).
func (s *Server) RecordRoute(stream pb.RouteGuide_RecordRouteServer) error {
	var (
		sum    pb.RouteSummary
		metres int64
		last   *pb.Point
		start  time.Time
	)
	for {
		p, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			if last != nil {
				sum.ElapsedTime = int32(min(s.now().Sub(start)/time.Second, math.MaxInt32))
			}
			sum.Distance = int32(min(metres, math.MaxInt32))
			return stream.SendAndClose(&sum)
		}
		if err != nil {
			return err
		}
		if err := checkPoint(p); err != nil {
			return status.Errorf(codes.InvalidArgument, "point %d: %v", sum.PointCount, err)
		}
		if last == nil {
			start = s.now()
		} else {
			metres += int64(distance(last, p))
		}
		sum.PointCount++
		if f, ok := s.byPoint[keyOf(p)]; ok && f.GetName() != "" {
			sum.FeatureCount++
		}
		last = p
	}
}

// RouteChat answers each note with the notes left at its location before
// it, oldest first, and keeps it for the notes that come later, from this
// call or another.
func (s *Server) RouteChat(stream pb.RouteGuide_RouteChatServer) error {
	for {
		n, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := checkPoint(n.GetLocation()); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		k := keyOf(n.GetLocation())
		s.mu.Lock()
		earlier := s.notes[k]
		// Capped at its length, earlier is copied by append, so the slice
		// read here is never written again and needs no lock below.
		s.notes[k] = append(earlier[:len(earlier):len(earlier)], n)
		s.mu.Unlock()
		for _, e := range earlier {
			if err := stream.Send(e); err != nil {
				return err
			}
		}
	}
}

// inside reports whether p lies in r, borders included.
func inside(r *pb.Rectangle, p *pb.Point) bool {
	lo, hi := r.GetLo(), r.GetHi()
	minLat, maxLat := min(lo.GetLatitude(), hi.GetLatitude()), max(lo.GetLatitude(), hi.GetLatitude())
	minLon, maxLon := min(lo.GetLongitude(), hi.GetLongitude()), max(lo.GetLongitude(), hi.GetLongitude())
	return p.GetLatitude() >= minLat && p.GetLatitude() <= maxLat &&
		p.GetLongitude() >= minLon && p.GetLongitude() <= maxLon
}

// earthRadius is the mean radius of the Earth in metres.
const earthRadius = 6371000

// distance returns the great-circle distance between a and b in metres,
// rounded down, by the haversine formula.
func distance(a, b *pb.Point) int32 {
	rad := func(e7 int32) float64 { return float64(e7) / 1e7 * math.Pi / 180 }
	lat1, lat2 := rad(a.GetLatitude()), rad(b.GetLatitude())
	dLat, dLon := lat2-lat1, rad(b.GetLongitude())-rad(a.GetLongitude())
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1)*math.Cos(lat2)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return int32(2 * earthRadius * math.Atan2(math.Sqrt(h), math.Sqrt(1-h)))
}
