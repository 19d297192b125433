package routeguide_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/examples/route_guide/guide"
	pb "github.com/h2rpc/h2rpc/examples/route_guide/routeguide"
	"github.com/h2rpc/h2rpc/stub"
)

// A RouteGuide server over the embedded features, and a client that makes
// one call of each kind: unary, server streaming, client streaming and
// bidirectional.
func Example() {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := stub.NewServer()
	pb.RegisterRouteGuideServer(s, guide.NewServer(guide.DefaultFeatures()))
	go s.Serve(lis)
	defer s.Stop()

	conn, err := stub.NewClient(lis.Addr().String(), stub.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewRouteGuideClient(conn)
	ctx := context.Background()

	// Unary: the feature at a point.
	f, err := c.GetFeature(ctx, &pb.Point{Latitude: 435062010, Longitude: -701240330})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("GetFeature:", f.GetName())

	// Server streaming: the features in a rectangle.
	list, err := c.ListFeatures(ctx, &pb.Rectangle{
		Lo: &pb.Point{Latitude: 434900000, Longitude: -701300000},
		Hi: &pb.Point{Latitude: 435000000, Longitude: -701100000},
	})
	if err != nil {
		log.Fatal(err)
	}
	for {
		f, err := list.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("ListFeatures:", f.GetName())
	}

	// Client streaming: a route of three points, two of them named places,
	// 1° of latitude (111 km) apart at the end.
	route, err := c.RecordRoute(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []*pb.Point{
		{Latitude: 435012340, Longitude: -701234560},
		{Latitude: 435031200, Longitude: -701221100},
		{Latitude: 445031200, Longitude: -701221100},
	} {
		if err := route.Send(p); err != nil {
			log.Fatal(err)
		}
	}
	sum, err := route.CloseAndRecv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("RecordRoute: %d points, %d features, %d m\n", sum.GetPointCount(), sum.GetFeatureCount(), sum.GetDistance())

	// Bidirectional: each note is answered with those left at its point
	// before it.
	chat, err := c.RouteChat(ctx)
	if err != nil {
		log.Fatal(err)
	}
	pier := &pb.Point{Latitude: 435012340, Longitude: -701234560}
	dune := &pb.Point{Latitude: 435101230, Longitude: -701302210}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := chat.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println("RouteChat:", n.GetMessage())
		}
	}()
	for _, n := range []*pb.RouteNote{
		{Location: pier, Message: "first at the pier"},
		{Location: dune, Message: "first at the dune"},
		{Location: pier, Message: "second at the pier"},
		{Location: pier, Message: "third at the pier"},
	} {
		if err := chat.Send(n); err != nil {
			log.Fatal(err)
		}
	}
	if err := chat.CloseSend(); err != nil {
		log.Fatal(err)
	}
	<-done
	// Output:
	// GetFeature: Rope walk museum
	// ListFeatures: Saltworks ruins
	// ListFeatures: Boatyard slipway
	// ListFeatures: Seawall promenade
	// ListFeatures: South jetty cafe
	// RecordRoute: 3 points, 2 features, 111430 m
	// RouteChat: first at the pier
	// RouteChat: first at the pier
	// RouteChat: second at the pier
}
