package bench

import (
	"context"
	"io"
	"net"

	"github.com/h2rpc/h2rpc/hpack"
	"github.com/h2rpc/h2rpc/stream"
)

// RequestFields is a typical gRPC request header list.
var RequestFields = []hpack.HeaderField{
	{Name: ":method", Value: "POST"},
	{Name: ":scheme", Value: "http"},
	{Name: ":path", Value: "/grpc.testing.TestService/UnaryCall"},
	{Name: ":authority", Value: "localhost"},
	{Name: "content-type", Value: "application/grpc"},
	{Name: "te", Value: "trailers"},
	{Name: "user-agent", Value: "h2rpc-bench"},
}

var (
	responseFields = []hpack.HeaderField{{Name: ":status", Value: "200"}, {Name: "content-type", Value: "application/grpc"}}
	trailerFields  = []hpack.HeaderField{{Name: "grpc-status", Value: "0"}}
)

// EchoHandler answers every stream with response headers, the request body
// echoed back, and trailers, all in one batch after the request ends.
func EchoHandler(st *stream.Stream) {
	buf := make([]byte, 0, 64)
	var tmp [4 << 10]byte
	for {
		n, err := st.Read(tmp[:])
		buf = append(buf, tmp[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			return
		}
	}
	if st.WriteHeaders(responseFields, false, false) != nil {
		return
	}
	if st.WriteData(buf, false, false) != nil {
		return
	}
	st.WriteHeaders(trailerFields, true, true)
}

// StreamPair is an h2rpc client connection and the server connection it
// talks to.
type StreamPair struct {
	Client, Server *stream.Conn
}

// Close closes both ends and waits for their goroutines.
func (p *StreamPair) Close() {
	p.Client.Close()
	p.Server.Close()
	p.Client.Wait()
	p.Server.Wait()
}

// DialStream opens an h2rpc connection pair on ln served by h, with one
// round trip done so both ends are past the SETTINGS exchange.
func DialStream(ln net.Listener, h stream.Handler) (*StreamPair, error) {
	a, b, err := dialTCP(ln)
	if err != nil {
		return nil, err
	}
	srv := stream.NewServerConn(b, nil, h)
	cli, err := stream.NewClientConn(a, nil)
	if err != nil {
		srv.Close()
		return nil, err
	}
	p := &StreamPair{Client: cli, Server: srv}
	if _, err := RoundTrip(cli, []byte("warm-up")); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// RoundTrip sends one request with body and reads the whole response;
// it returns the number of response body bytes.
func RoundTrip(c *stream.Conn, body []byte) (int, error) {
	st, err := c.OpenStream(context.Background(), RequestFields, false, false)
	if err != nil {
		return 0, err
	}
	if err := st.WriteData(body, true, true); err != nil {
		return 0, err
	}
	if _, err := st.Header(); err != nil {
		return 0, err
	}
	var tmp [4 << 10]byte
	total := 0
	for {
		n, err := st.Read(tmp[:])
		total += n
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}
