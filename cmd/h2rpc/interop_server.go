package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/h2rpc/h2rpc/hpack"
	"github.com/h2rpc/h2rpc/stream"
)

func init() {
	register("interop-server", "serve the grpc.testing interop service (flags as grpc-go's interop server)", runInteropServer)
}

func runInteropServer(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("interop-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 10000, "the port to listen on")
	host := fs.String("host", "127.0.0.1", "the address to listen on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(*host, strconv.Itoa(*port)))
	if err != nil {
		fmt.Fprintf(stderr, "interop-server: %v (is another server using port %d? pick another with --port)\n", err, *port)
		return 1
	}
	fmt.Fprintf(stdout, "interop-server: listening on %s\n", ln.Addr())
	srv := newTransportServer()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	err = srv.serve(ln)
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.shutdown(shutdown)
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "interop-server: %v\n", err)
		return 1
	}
	return 0
}

// transportServer accepts connections and serves every stream on them; it
// answers requests that are not gRPC with an HTTP error and a short text.
type transportServer struct {
	mu    sync.Mutex
	conns map[*stream.Conn]struct{}
}

func newTransportServer() *transportServer {
	return &transportServer{conns: make(map[*stream.Conn]struct{})}
}

func (s *transportServer) serve(ln net.Listener) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		c := stream.NewServerConn(nc, nil, serveStream)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go func() {
			<-c.Done()
			c.Wait()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *transportServer) shutdown(ctx context.Context) {
	s.mu.Lock()
	conns := make([]*stream.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Shutdown(ctx)
			c.Wait()
		}()
	}
	wg.Wait()
}

// maxFallbackBody bounds how much of a non-gRPC request body is read
// before answering.
const maxFallbackBody = 1 << 20

// serveStream answers one request. gRPC requests get UNIMPLEMENTED until
// services are registered; anything else gets an HTTP error.
func serveStream(st *stream.Stream) {
	hdr, _ := st.Header()
	contentType := ""
	for _, f := range hdr {
		if f.Name == "content-type" {
			contentType = f.Value
		}
	}
	req := st.Request()
	isGRPC := contentType == "application/grpc" || strings.HasPrefix(contentType, "application/grpc+") || strings.HasPrefix(contentType, "application/grpc;")
	if req.Method == "POST" && isGRPC {
		st.WriteHeaders([]hpack.HeaderField{
			{Name: ":status", Value: "200"},
			{Name: "content-type", Value: contentType},
			{Name: "grpc-status", Value: "12"},
			{Name: "grpc-message", Value: "unknown service"},
		}, true, true)
		return
	}
	// Read the request body first, so the answer reflects the whole request.
	n, err := io.Copy(io.Discard, io.LimitReader(st, maxFallbackBody+1))
	if err != nil {
		return // the stream was reset
	}
	status, body := "415", "h2rpc: this is a gRPC server; send gRPC requests (content-type application/grpc)\n"
	extra := hpack.HeaderField{}
	switch {
	case n > maxFallbackBody:
		status, body = "413", "h2rpc: request body too large\n"
	case req.Method != "POST":
		status, body = "405", "h2rpc: this is a gRPC server; it accepts only POST with content-type application/grpc\n"
		extra = hpack.HeaderField{Name: "allow", Value: "POST"}
	}
	fields := []hpack.HeaderField{
		{Name: ":status", Value: status},
		{Name: "content-type", Value: "text/plain; charset=utf-8"},
		{Name: "content-length", Value: strconv.Itoa(len(body))},
	}
	if extra.Name != "" {
		fields = append(fields, extra)
	}
	if st.WriteHeaders(fields, false, false) != nil {
		return
	}
	st.WriteData([]byte(body), true, true)
}
