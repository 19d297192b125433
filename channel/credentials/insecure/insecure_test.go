package insecure

import (
	"context"
	"net"
	"testing"
)

func TestCredentials(t *testing.T) {
	c := NewCredentials()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	conn, info, err := c.ClientHandshake(context.Background(), "host:1", a)
	if err != nil || conn != a || info.AuthType() != "insecure" {
		t.Fatalf("client: %v %v %v", conn, info, err)
	}
	conn, info, err = c.ServerHandshake(b)
	if err != nil || conn != b || info.AuthType() != "insecure" {
		t.Fatalf("server: %v %v %v", conn, info, err)
	}
	if c.Info().SecurityProtocol != "insecure" || c.Clone().Info().SecurityProtocol != "insecure" {
		t.Fatal("wrong protocol info")
	}
}
