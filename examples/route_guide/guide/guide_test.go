package guide

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/status"
	pb "github.com/h2rpc/h2rpc/examples/route_guide/routeguide"
	"github.com/h2rpc/h2rpc/stub"
	"google.golang.org/protobuf/proto"
)

func TestDefaultFeatures(t *testing.T) {
	f := DefaultFeatures()
	if len(f) != 16 {
		t.Fatalf("%d features, want 16", len(f))
	}
	want := &pb.Feature{Name: "Harbour lighthouse", Location: &pb.Point{Latitude: 435012340, Longitude: -701234560}}
	if !proto.Equal(f[0], want) {
		t.Errorf("first feature %v, want %v", f[0], want)
	}
	f[0].Name = "changed"
	if DefaultFeatures()[0].GetName() != "Harbour lighthouse" {
		t.Error("a change to DefaultFeatures' result reached the next call")
	}
}

func TestParseFeaturesErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{``, "want a JSON array"},
		{`{"name": "x"}`, "want a JSON array"},
		{`[{"name": "x", "location": {"latitude": 1}, "height": 3}]`, "feature 0"},
		{`[{"name": "x"}]`, `feature 0 ("x") has no location`},
		{`[{"name": "x", "location": {"latitude": 900000001}}]`, "latitude 900000001 is outside"},
		{`[{"name": "x", "location": {"longitude": -1800000001}}]`, "longitude -1800000001 is outside"},
		{`[{"name": "x", "location": {"latitude": 4294967296}}]`, "feature 0"},
		{`[{"name": "a", "location": {"latitude": 5}}, {"name": "b", "location": {"latitude": 5}}]`, "features 0 and 1 share the location (0.0000005, 0.0000000)"},
	} {
		f, err := ParseFeatures([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFeatures(%s) = %v, %v; want an error containing %q", c.in, f, err, c.want)
		}
	}
	f, err := ParseFeatures([]byte(`[{"name": "x", "location": {"latitude": -900000000, "longitude": 1800000000}}, {"location": {}}]`))
	if err != nil || len(f) != 2 || f[0].GetLocation().GetLongitude() != 1800000000 || f[1].GetName() != "" {
		t.Errorf("ParseFeatures of the bounds = %v, %v", f, err)
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b *pb.Point
		want int32
	}{
		{&pb.Point{}, &pb.Point{}, 0},
		// One degree of a great circle: 6371 km × π / 180.
		{&pb.Point{Latitude: 10e7}, &pb.Point{Latitude: 11e7}, 111194},
		{&pb.Point{}, &pb.Point{Longitude: 1e7}, 111194},
		// Half the circumference.
		{&pb.Point{}, &pb.Point{Longitude: 180e7}, 20015086},
		{&pb.Point{Latitude: 90e7}, &pb.Point{Latitude: -90e7}, 20015086},
	} {
		if got := distance(c.a, c.b); got != c.want {
			t.Errorf("distance(%v, %v) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := distance(c.b, c.a); got != c.want {
			t.Errorf("distance(%v, %v) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}

func TestInside(t *testing.T) {
	r := &pb.Rectangle{Lo: &pb.Point{Latitude: 10, Longitude: -10}, Hi: &pb.Point{Latitude: -10, Longitude: 10}}
	for _, c := range []struct {
		p    *pb.Point
		want bool
	}{
		{&pb.Point{}, true},
		{&pb.Point{Latitude: 10, Longitude: 10}, true},
		{&pb.Point{Latitude: -10, Longitude: -10}, true},
		{&pb.Point{Latitude: 11}, false},
		{&pb.Point{Longitude: -11}, false},
	} {
		if got := inside(r, c.p); got != c.want {
			t.Errorf("inside(%v, %v) = %t", r, c.p, got)
		}
	}
}

// serve starts s on a loopback port and returns a client of it; both are
// closed when the test ends.
func serve(t *testing.T, s *Server) pb.RouteGuideClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := stub.NewServer()
	pb.RegisterRouteGuideServer(srv, s)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := stub.NewClient(lis.Addr().String(), stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-served
	})
	return pb.NewRouteGuideClient(conn)
}

func wantCode(t *testing.T, what string, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code || !strings.Contains(st.Message(), msg) {
		t.Errorf("%s: %v; want %v with %q", what, err, code, msg)
	}
}

func TestBadPoints(t *testing.T) {
	c := serve(t, NewServer(DefaultFeatures()))
	ctx := context.Background()
	_, err := c.GetFeature(ctx, &pb.Point{Latitude: 900000001})
	wantCode(t, "GetFeature", err, codes.InvalidArgument, "latitude 900000001 is outside")

	list, err := c.ListFeatures(ctx, &pb.Rectangle{Lo: &pb.Point{}})
	if err == nil {
		_, err = list.Recv()
	}
	wantCode(t, "ListFeatures", err, codes.InvalidArgument, "a rectangle needs both corners")

	route, err := c.RecordRoute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*pb.Point{{}, {Longitude: 1800000001}} {
		if err := route.Send(p); err != nil {
			break
		}
	}
	_, err = route.CloseAndRecv()
	wantCode(t, "RecordRoute", err, codes.InvalidArgument, "point 1: longitude 1800000001 is outside")

	chat, err := c.RouteChat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A Send that fails because the server has ended the call leaves the
	// reason to Recv.
	_ = chat.Send(&pb.RouteNote{Location: &pb.Point{Latitude: -900000001}})
	_, err = chat.Recv()
	wantCode(t, "RouteChat", err, codes.InvalidArgument, "latitude -900000001 is outside")
}

func TestGetFeature(t *testing.T) {
	c := serve(t, NewServer(DefaultFeatures()))
	for _, want := range []*pb.Feature{
		{Name: "Gull island landing", Location: &pb.Point{Latitude: 435180770, Longitude: -701410660}},
		{Location: &pb.Point{Latitude: 435180771, Longitude: -701410660}},
	} {
		got, err := c.GetFeature(context.Background(), want.GetLocation())
		if err != nil || !proto.Equal(got, want) {
			t.Errorf("GetFeature(%v) = %v, %v; want %v", want.GetLocation(), got, err, want)
		}
	}
}

// clock is a fake clock that moves on by step each time it is read.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func TestRecordRoute(t *testing.T) {
	s := NewServer([]*pb.Feature{
		{Name: "a", Location: &pb.Point{Latitude: 1e7}},
		{Location: &pb.Point{Latitude: 2e7}}, // not named: not counted
	})
	clk := &clock{step: 7 * time.Second}
	s.now = clk.now
	c := serve(t, s)
	for _, tc := range []struct {
		route []*pb.Point
		want  *pb.RouteSummary
	}{
		{nil, &pb.RouteSummary{}},
		{[]*pb.Point{{Latitude: 1e7}}, &pb.RouteSummary{PointCount: 1, FeatureCount: 1, ElapsedTime: 7}},
		{
			[]*pb.Point{{}, {Latitude: 1e7}, {Latitude: 2e7}, {Latitude: 1e7}},
			&pb.RouteSummary{PointCount: 4, FeatureCount: 2, Distance: 3 * 111194, ElapsedTime: 7},
		},
		// Around the Earth 110 times is more than an int32 of metres.
		{longRoute(220), &pb.RouteSummary{PointCount: 221, Distance: 1<<31 - 1, ElapsedTime: 7}},
	} {
		stream, err := c.RecordRoute(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range tc.route {
			if err := stream.Send(p); err != nil {
				t.Fatal(err)
			}
		}
		got, err := stream.CloseAndRecv()
		if err != nil || !proto.Equal(got, tc.want) {
			t.Errorf("RecordRoute of %d points = %v, %v; want %v", len(tc.route), got, err, tc.want)
		}
	}
}

// longRoute returns a route that crosses the Earth from pole to pole n
// times.
func longRoute(n int) []*pb.Point {
	r := []*pb.Point{{Latitude: 90e7}}
	for i := range n {
		lat := int32(-90e7)
		if i%2 == 1 {
			lat = 90e7
		}
		r = append(r, &pb.Point{Latitude: lat})
	}
	return r
}

func TestRouteChatAcrossCalls(t *testing.T) {
	c := serve(t, NewServer(nil))
	here, there := &pb.Point{Latitude: 1}, &pb.Point{Latitude: 2}
	chat := func(notes ...*pb.RouteNote) []string {
		t.Helper()
		stream, err := c.RouteChat(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range notes {
			if err := stream.Send(n); err != nil {
				t.Fatal(err)
			}
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			n, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return got
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n.GetMessage())
		}
	}
	if got := chat(&pb.RouteNote{Location: here, Message: "1"}, &pb.RouteNote{Location: there, Message: "2"},
		&pb.RouteNote{Location: here, Message: "3"}); strings.Join(got, ",") != "1" {
		t.Errorf("first call got %q, want [1]", got)
	}
	if got := chat(&pb.RouteNote{Location: here, Message: "4"}, &pb.RouteNote{Location: there, Message: "5"}); strings.Join(got, ",") != "1,3,2" {
		t.Errorf("second call got %q, want [1 3 2]", got)
	}
}
