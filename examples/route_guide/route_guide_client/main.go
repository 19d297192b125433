package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/examples/route_guide/guide"
	pb "github.com/h2rpc/h2rpc/examples/route_guide/routeguide"
	"github.com/h2rpc/h2rpc/stub"
)

var (
	addr    = flag.String("addr", "localhost:50051", "the address of the route guide server")
	timeout = flag.Duration("timeout", 10*time.Second, "how long all the calls may take together")
)

func main() {
	flag.Parse()
	conn, err := stub.NewClient(*addr, stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("client: %v", err)
	}
	defer conn.Close()
	c := pb.NewRouteGuideClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	places := guide.DefaultFeatures()
	for _, step := range []func(context.Context, pb.RouteGuideClient, []*pb.Feature) error{
		getFeatures, listFeatures, recordRoute, routeChat,
	} {
		if err := step(ctx, c, places); err != nil {
			log.Fatalf("%v (is route_guide_server running on %s?)", err, *addr)
		}
	}
}

// getFeatures asks for the feature at the first place and at a point where
// there is none.
func getFeatures(ctx context.Context, c pb.RouteGuideClient, places []*pb.Feature) error {
	for _, p := range []*pb.Point{places[0].GetLocation(), {Latitude: 0, Longitude: 0}} {
		f, err := c.GetFeature(ctx, p, stub.WaitForReady(true))
		if err != nil {
			return fmt.Errorf("GetFeature: %w", err)
		}
		if f.GetName() == "" {
			fmt.Printf("GetFeature %s: nothing there\n", show(p))
		} else {
			fmt.Printf("GetFeature %s: %q\n", show(p), f.GetName())
		}
	}
	return nil
}

// listFeatures lists the features in the rectangle whose corners are the
// first and the third place.
func listFeatures(ctx context.Context, c pb.RouteGuideClient, places []*pb.Feature) error {
	r := &pb.Rectangle{Lo: places[0].GetLocation(), Hi: places[2].GetLocation()}
	stream, err := c.ListFeatures(ctx, r)
	if err != nil {
		return fmt.Errorf("ListFeatures: %w", err)
	}
	fmt.Printf("ListFeatures %s to %s:\n", show(r.GetLo()), show(r.GetHi()))
	for {
		f, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ListFeatures: %w", err)
		}
		fmt.Printf("  %q at %s\n", f.GetName(), show(f.GetLocation()))
	}
}

// recordRoute walks past every place, then to a point where nothing is.
func recordRoute(ctx context.Context, c pb.RouteGuideClient, places []*pb.Feature) error {
	stream, err := c.RecordRoute(ctx)
	if err != nil {
		return fmt.Errorf("RecordRoute: %w", err)
	}
	route := make([]*pb.Point, 0, len(places)+1)
	for _, f := range places {
		route = append(route, f.GetLocation())
	}
	route = append(route, &pb.Point{Latitude: 435200000, Longitude: -701500000})
	for _, p := range route {
		if err := stream.Send(p); err != nil {
			// The server ended the call; CloseAndRecv says why.
			break
		}
	}
	sum, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("RecordRoute: %w", err)
	}
	fmt.Printf("RecordRoute: %d points, %d features, %d m, %d s\n",
		sum.GetPointCount(), sum.GetFeatureCount(), sum.GetDistance(), sum.GetElapsedTime())
	return nil
}

// routeChat leaves notes at three places, twice at each, and prints the
// notes the server sends back: those left at the same place before.
func routeChat(ctx context.Context, c pb.RouteGuideClient, places []*pb.Feature) error {
	stream, err := c.RouteChat(ctx)
	if err != nil {
		return fmt.Errorf("RouteChat: %w", err)
	}
	received := make(chan error, 1)
	go func() {
		for {
			n, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				received <- nil
				return
			}
			if err != nil {
				received <- fmt.Errorf("RouteChat: %w", err)
				return
			}
			fmt.Printf("RouteChat: %q was left at %s\n", n.GetMessage(), show(n.GetLocation()))
		}
	}()
	for round := 1; round <= 2; round++ {
		for _, f := range places[:3] {
			n := &pb.RouteNote{Location: f.GetLocation(), Message: fmt.Sprintf("note %d at %s", round, f.GetName())}
			if err := stream.Send(n); err != nil {
				break // the server ended the call; Recv says why
			}
		}
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("RouteChat: %w", err)
	}
	return <-received
}

// show formats p in degrees.
func show(p *pb.Point) string {
	return fmt.Sprintf("(%.7f, %.7f)", float64(p.GetLatitude())/1e7, float64(p.GetLongitude())/1e7)
}
