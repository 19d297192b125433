package frametest

import (
	"net"
	"testing"

	"golang.org/x/net/http2"
)

// pair returns two Peers on the ends of an in-memory connection.
func pair(t *testing.T) (client, server *Peer) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return NewPeer(a), NewPeer(b)
}

func handshake(t *testing.T) (client, server *Peer) {
	t.Helper()
	client, server = pair(t)
	errc := make(chan error, 1)
	go func() { errc <- server.Handshake(false, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 10}) }()
	if err := client.Handshake(true); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return client, server
}

func TestHandshakeBothRoles(t *testing.T) {
	handshake(t)
}

func TestHeaderBlockRoundTrip(t *testing.T) {
	client, server := handshake(t)
	errc := make(chan error, 1)
	go func() { errc <- client.WriteHeaderBlock(1, true, ":method", "POST", "te", "trailers") }()
	f, err := server.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	hf, ok := f.(*http2.HeadersFrame)
	if !ok || hf.StreamID != 1 || !hf.StreamEnded() || !hf.HeadersEnded() {
		t.Fatalf("got %v", f)
	}
	fields, err := server.DecodeHeaders(hf.HeaderBlockFragment())
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 2 || fields[0].Name != ":method" || fields[0].Value != "POST" || fields[1].Name != "te" {
		t.Fatalf("fields %v", fields)
	}
}

func TestExpectations(t *testing.T) {
	client, server := handshake(t)
	errc := make(chan error, 1)
	go func() {
		if err := server.WriteWindowUpdate(0, 1); err != nil {
			errc <- err
			return
		}
		if err := server.WriteRSTStream(3, http2.ErrCodeCancel); err != nil {
			errc <- err
			return
		}
		if err := server.WriteRSTStream(5, http2.ErrCodeCancel); err != nil {
			errc <- err
			return
		}
		if err := server.WriteGoAway(5, http2.ErrCodeProtocol, []byte("bye")); err != nil {
			errc <- err
			return
		}
		errc <- server.Conn.Close()
	}()
	if err := client.ExpectRST(3, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	if err := client.ExpectRST(3, http2.ErrCodeCancel); err == nil {
		t.Fatal("RST_STREAM on stream 5 accepted as one on stream 3")
	}
	if _, err := client.ExpectGoAway(http2.ErrCodeProtocol); err != nil {
		t.Fatal(err)
	}
	if err := client.ExpectClosed(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestIllegalWritesAllowed(t *testing.T) {
	client, server := pair(t)
	errc := make(chan error, 1)
	// Stream 0 is illegal for DATA; a strict Framer would refuse to write it.
	go func() { errc <- client.WriteData(0, false, []byte("x")) }()
	if _, err := server.ReadFrame(); err == nil {
		t.Fatal("DATA on stream 0 read without error")
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
