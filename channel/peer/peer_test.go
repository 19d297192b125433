package peer

import (
	"context"
	"net"
	"testing"
)

type authInfo struct{}

func (authInfo) AuthType() string { return "test" }

func TestContext(t *testing.T) {
	ctx := context.Background()
	if p, ok := FromContext(ctx); ok || p != nil {
		t.Fatal("peer in a bare context")
	}
	if _, ok := FromContext(NewContext(ctx, nil)); ok {
		t.Fatal("nil peer reported as present")
	}
	want := &Peer{
		Addr:      &net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5000},
		LocalAddr: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 443},
		AuthInfo:  authInfo{},
	}
	got, ok := FromContext(NewContext(ctx, want))
	if !ok || got != want || got.AuthInfo.AuthType() != "test" {
		t.Fatalf("got %v, %v", got, ok)
	}
}
