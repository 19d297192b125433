//lint:file-ignore SA1019 x/net's own HTTP/2 server and transport are the reference stack these benchmarks measure; x/net deprecates them in favour of net/http's copy.

package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"golang.org/x/net/http2"
)

// xnetPair is x/net's HTTP/2 server and transport over one h2c connection:
// the reference stack for the same work.
type xnetPair struct {
	tr   *http2.Transport
	cc   *http2.ClientConn
	a, b net.Conn
	done chan struct{}
}

func (p *xnetPair) Close() {
	p.cc.Close()
	p.a.Close()
	p.b.Close()
	<-p.done
}

var xnetEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("content-type", "application/grpc")
	w.Header().Set("trailer", "grpc-status")
	w.Write(body)
	w.Header().Set("grpc-status", "0")
})

func dialXNet(ln net.Listener) (*xnetPair, error) {
	a, b, err := dialTCP(ln)
	if err != nil {
		return nil, err
	}
	p := &xnetPair{a: a, b: b, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		(&http2.Server{}).ServeConn(b, &http2.ServeConnOpts{Handler: xnetEcho})
	}()
	p.tr = &http2.Transport{AllowHTTP: true, DialTLSContext: func(context.Context, string, string, *tls.Config) (net.Conn, error) { return a, nil }}
	p.cc, err = p.tr.NewClientConn(a)
	if err != nil {
		return nil, err
	}
	if _, err := p.roundTrip([]byte("warm-up")); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *xnetPair) roundTrip(body []byte) (int, error) {
	req, _ := http.NewRequest("POST", "http://localhost/grpc.testing.TestService/UnaryCall", bytes.NewReader(body))
	req.Header.Set("content-type", "application/grpc")
	req.Header.Set("te", "trailers")
	resp, err := p.cc.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return int(n), err
}

// openStream opens an h2rpc pair for a benchmark, closed when it ends.
func openStream(b *testing.B) *StreamPair {
	p, err := DialStream(listen(b), EchoHandler)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	return p
}

// openXNet opens an x/net pair for a benchmark, closed when it ends.
func openXNet(b *testing.B) *xnetPair {
	p, err := dialXNet(listen(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	return p
}

func listen(tb testing.TB) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	return ln
}

// BenchmarkIdleConnMemory reports what an idle connection pair holds, for
// h2rpc and for x/net's HTTP/2 server and transport (target: at most 8 KiB
// of buffers per connection; grpc-go holds 64 KiB).
func BenchmarkIdleConnMemory(b *testing.B) {
	const n = 200
	cases := []struct {
		name string
		dial Dialer
	}{
		{"h2rpc", func(ln net.Listener) (ConnPair, error) { return DialStream(ln, EchoHandler) }},
		{"xnet", func(ln net.Listener) (ConnPair, error) { return dialXNet(ln) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var r IdleResult
			for b.Loop() {
				var err error
				if r, err = MeasureIdle(n, c.dial); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(r.HeapPerConn, "heapB/connpair")
			b.ReportMetric(r.StackPerConn, "stackB/connpair")
			b.ReportMetric(r.GoroutinesPerConn, "goroutines/connpair")
		})
	}
}

// echoBoth runs sub-benchmarks of one request with body echoed back, one at
// a time, on h2rpc and on x/net.
func echoBoth(b *testing.B, body []byte) {
	stacks := []struct {
		name string
		open func(b *testing.B) func([]byte) (int, error)
	}{
		{"h2rpc", func(b *testing.B) func([]byte) (int, error) {
			p := openStream(b)
			return func(body []byte) (int, error) { return RoundTrip(p.Client, body) }
		}},
		{"xnet", func(b *testing.B) func([]byte) (int, error) { return openXNet(b).roundTrip }},
	}
	for _, st := range stacks {
		b.Run(st.name, func(b *testing.B) {
			rt := st.open(b)
			if len(body) > 1<<10 {
				b.SetBytes(2 * int64(len(body)))
			}
			b.ReportAllocs()
			for b.Loop() {
				if n, err := rt(body); err != nil || n != len(body) {
					b.Fatalf("round trip: %d bytes, %v", n, err)
				}
			}
		})
	}
}

// BenchmarkRoundTrip is one request and response (headers, a small body,
// trailers) at a time on one connection.
func BenchmarkRoundTrip(b *testing.B) {
	body := []byte("hello")
	echoBoth(b, body)
	// The floor: the same number of bytes each way over plain TCP, echoed
	// by a goroutine, with no framing at all.
	b.Run("tcp", func(b *testing.B) {
		ln := listen(b)
		a, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer a.Close()
		srv, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		const reqLen, respLen = 90, 60 // about an h2rpc request and response batch
		go func() {
			buf := make([]byte, reqLen)
			resp := make([]byte, respLen)
			for {
				if _, err := io.ReadFull(srv, buf); err != nil {
					return
				}
				if _, err := srv.Write(resp); err != nil {
					return
				}
			}
		}()
		req := make([]byte, reqLen)
		resp := make([]byte, respLen)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := a.Write(req); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(a, resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRoundTripParallel is 64 concurrent request/response streams on
// one connection.
func BenchmarkRoundTripParallel(b *testing.B) {
	body := []byte("hello")
	run := func(b *testing.B, rt func() error) {
		b.ReportAllocs()
		b.SetParallelism(32) // with GOMAXPROCS=2: 64 goroutines
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := rt(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.Run("h2rpc", func(b *testing.B) {
		p := openStream(b)
		run(b, func() error { _, err := RoundTrip(p.Client, body); return err })
	})
	b.Run("xnet", func(b *testing.B) {
		p := openXNet(b)
		run(b, func() error { _, err := p.roundTrip(body); return err })
	})
}

// BenchmarkUpload1MiB sends 1 MiB request bodies (echoed back), exercising
// flow control and window growth.
func BenchmarkUpload1MiB(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1<<20)
	echoBoth(b, body)
}

// TestRoundTripBothStacks checks that the benchmark's work is real: both
// stacks echo bodies of several sizes intact.
func TestRoundTripBothStacks(t *testing.T) {
	ln := listen(t)
	p, err := DialStream(ln, EchoHandler)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	x, err := dialXNet(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	var wg sync.WaitGroup
	for _, size := range []int{0, 1, 5, 16 << 10, 100 << 10, 3 << 20} {
		body := bytes.Repeat([]byte{'a'}, size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if n, err := RoundTrip(p.Client, body); err != nil || n != size {
				t.Errorf("h2rpc: size %d: got %d, %v", size, n, err)
			}
			if n, err := x.roundTrip(body); err != nil || n != size {
				t.Errorf("xnet: size %d: got %d, %v", size, n, err)
			}
		}()
	}
	wg.Wait()
}
