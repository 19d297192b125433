package stream

import (
	"context"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	forTransports(t, func(t *testing.T, tr transport) {
		client, _ := startPair(t, tr, nil, nil, echo)
		want := pattern(1000)
		got, trailers, err := roundTrip(context.Background(), client, want)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkBody(got, want); err != nil {
			t.Fatal(err)
		}
		if len(trailers) != 1 || trailers[0] != okTrailers[0] {
			t.Fatalf("trailers %v", trailers)
		}
	})
}
