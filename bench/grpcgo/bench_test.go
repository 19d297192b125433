package grpcgo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Every benchmark runs one sub-benchmark per stack (h2rpc, grpc-go), each on
// a fresh server and one client connection over loopback TCP. Client and
// server run in this process, so allocs/op and B/op count both sides.
//
// Metrics beyond ns/op, B/op and allocs/op:
//   - calls/s or msgs/s: operations per second of wall time (a ping-pong
//     round trip is one message each way and counts once);
//   - p50-ns: the median latency of one operation, for the benchmarks that
//     run one at a time;
//   - MB/s: message bytes received per second (Stream1MiB).

// concurrency is the number of callers of the concurrent benchmarks.
const concurrency = 64

var (
	payload1B   = []byte{0x2a}
	payload1KiB = bytes.Repeat([]byte("0123456789abcdef"), 64)
)

func listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}

// start serves st on a fresh loopback listener and returns a connected
// client, warmed up by a first call; both end when tb does.
func start(tb testing.TB, st Stack) Client {
	tb.Helper()
	c, stop, err := st.Start(listen(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(stop)
	if _, err := c.Unary(context.Background(), &wrapperspb.BytesValue{Value: payload1B}); err != nil {
		tb.Fatalf("%s: warm-up call: %v", st.Name, err)
	}
	return c
}

// serial runs op b.N times, one at a time, and reports the rate (unit) and
// the median latency.
func serial(b *testing.B, unit string, op func() error) {
	lat := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range lat {
		t0 := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
}

// parallel runs op b.N times from concurrency goroutines and reports the
// rate (unit). Each goroutine calls open once, before its first op, and
// the function open returns once after its last.
func parallel(b *testing.B, unit string, open func() (op func() error, close func() error, err error)) {
	b.ReportAllocs()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((concurrency + procs - 1) / procs)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		op, close, err := open()
		if err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				break
			}
		}
		if err := close(); err != nil {
			b.Error(err)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
}

// unaryOp is one unary call of payload that checks the echo.
func unaryOp(c Client, payload []byte) func() error {
	in := &wrapperspb.BytesValue{Value: payload}
	ctx := context.Background()
	return func() error {
		out, err := c.Unary(ctx, in)
		if err != nil {
			return err
		}
		if len(out.Value) != len(payload) {
			return fmt.Errorf("unary: %d bytes back, sent %d", len(out.Value), len(payload))
		}
		return nil
	}
}

// pingPong opens a bidi stream and returns one round trip of payload on it
// and the function that ends the stream.
func pingPong(c Client, payload []byte) (op func() error, close func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := c.PingPong(ctx)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	in := &wrapperspb.BytesValue{Value: payload}
	op = func() error {
		if err := s.SendMsg(in); err != nil {
			return err
		}
		out := new(wrapperspb.BytesValue)
		if err := s.RecvMsg(out); err != nil {
			return err
		}
		if len(out.Value) != len(payload) {
			return fmt.Errorf("ping-pong: %d bytes back, sent %d", len(out.Value), len(payload))
		}
		return nil
	}
	close = func() error {
		defer cancel()
		if err := s.CloseSend(); err != nil {
			return err
		}
		if err := s.RecvMsg(new(wrapperspb.BytesValue)); err != io.EOF {
			return fmt.Errorf("ping-pong: end of stream: %v", err)
		}
		return nil
	}
	return op, close, nil
}

func benchUnary(b *testing.B, payload []byte) {
	for _, st := range Stacks {
		b.Run(st.Name, func(b *testing.B) {
			serial(b, "calls/s", unaryOp(start(b, st), payload))
		})
	}
}

func benchUnaryConcurrent(b *testing.B, payload []byte) {
	for _, st := range Stacks {
		b.Run(st.Name, func(b *testing.B) {
			c := start(b, st)
			parallel(b, "calls/s", func() (func() error, func() error, error) {
				return unaryOp(c, payload), func() error { return nil }, nil
			})
		})
	}
}

// BenchmarkUnary1B is unary calls with a 1-byte payload, one at a time.
// Its tcp case is the floor: a ping-pong over plain TCP of as many bytes
// each way as an h2rpc call puts on the wire.
func BenchmarkUnary1B(b *testing.B) {
	benchUnary(b, payload1B)
	b.Run("tcp", func(b *testing.B) {
		req, resp := wireBytes(b, Stacks[0], payload1B)
		a, stop := tcpEcho(b, req, resp)
		defer stop()
		reqBuf, respBuf := make([]byte, req), make([]byte, resp)
		serial(b, "calls/s", func() error {
			if _, err := a.Write(reqBuf); err != nil {
				return err
			}
			_, err := io.ReadFull(a, respBuf)
			return err
		})
		b.ReportMetric(float64(req), "reqB")
		b.ReportMetric(float64(resp), "respB")
	})
}

// retryPolicy is a service config whose retry policy covers every method:
// the benchmarks' calls succeed first time, so it shows what the policy
// costs when it is not needed.
const retryPolicy = `{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 3,
	"initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`

// BenchmarkUnary1BRetryPolicy is BenchmarkUnary1B on a method with a retry
// policy.
func BenchmarkUnary1BRetryPolicy(b *testing.B) {
	for _, st := range []Stack{
		{"h2rpc", func(ln net.Listener) (Client, func(), error) { return StartH2RPCWithConfig(ln, retryPolicy) }},
		{"grpc-go", func(ln net.Listener) (Client, func(), error) { return StartGRPCWithConfig(ln, retryPolicy) }},
	} {
		b.Run(st.Name, func(b *testing.B) {
			serial(b, "calls/s", unaryOp(start(b, st), payload1B))
		})
	}
}

// BenchmarkUnary1KiB is unary calls with a 1 KiB payload, one at a time.
func BenchmarkUnary1KiB(b *testing.B) { benchUnary(b, payload1KiB) }

// BenchmarkUnary1BConcurrent64 is unary calls with a 1-byte payload from
// 64 goroutines sharing one connection.
func BenchmarkUnary1BConcurrent64(b *testing.B) { benchUnaryConcurrent(b, payload1B) }

// BenchmarkUnary1KiBConcurrent64 is unary calls with a 1 KiB payload from
// 64 goroutines sharing one connection.
func BenchmarkUnary1KiBConcurrent64(b *testing.B) { benchUnaryConcurrent(b, payload1KiB) }

// BenchmarkPingPong1B is round trips of a 1-byte message on one
// bidirectional stream.
func BenchmarkPingPong1B(b *testing.B) {
	for _, st := range Stacks {
		b.Run(st.Name, func(b *testing.B) {
			op, close, err := pingPong(start(b, st), payload1B)
			if err != nil {
				b.Fatal(err)
			}
			serial(b, "msgs/s", op)
			if err := close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkPingPong1BConcurrent64 is round trips of a 1-byte message on 64
// bidirectional streams of one connection, one goroutine each.
func BenchmarkPingPong1BConcurrent64(b *testing.B) {
	for _, st := range Stacks {
		b.Run(st.Name, func(b *testing.B) {
			c := start(b, st)
			parallel(b, "msgs/s", func() (func() error, func() error, error) {
				return pingPong(c, payload1B)
			})
		})
	}
}

// BenchmarkStream1MiB is 1 MiB messages sent by the server on one
// server-streaming call as fast as the client takes them.
func BenchmarkStream1MiB(b *testing.B) {
	const size = 1 << 20
	for _, st := range Stacks {
		b.Run(st.Name, func(b *testing.B) {
			c := start(b, st)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			s, err := Stream(ctx, c, StreamRequest(uint64(b.N), size))
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
				out := new(wrapperspb.BytesValue)
				if err := s.RecvMsg(out); err != nil {
					b.Fatal(err)
				}
				if len(out.Value) != size {
					b.Fatalf("stream: message of %d bytes, want %d", len(out.Value), size)
				}
			}
			b.StopTimer()
			if err := s.RecvMsg(new(wrapperspb.BytesValue)); err != io.EOF {
				b.Fatalf("stream: end: %v", err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// wireBytes returns how many bytes one unary call of payload puts on the
// wire each way with st, averaged over calls on a warm connection.
func wireBytes(tb testing.TB, st Stack, payload []byte) (req, resp int) {
	tb.Helper()
	ln := &countingListener{Listener: listen(tb)}
	c, stop, err := st.Start(ln)
	if err != nil {
		tb.Fatal(err)
	}
	defer stop()
	op := unaryOp(c, payload)
	for range 100 {
		if err := op(); err != nil {
			tb.Fatal(err)
		}
	}
	const calls = 1000
	r0, w0 := ln.read.Load(), ln.written.Load()
	for range calls {
		if err := op(); err != nil {
			tb.Fatal(err)
		}
	}
	r, w := ln.read.Load()-r0, ln.written.Load()-w0
	return int((r + calls/2) / calls), int((w + calls/2) / calls)
}

// countingListener counts the bytes its connections read and write.
type countingListener struct {
	net.Listener
	read, written atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.l.written.Add(int64(n))
	return n, err
}

// tcpEcho connects to a goroutine that answers every req bytes it reads
// with resp bytes, over loopback TCP with no framing at all.
func tcpEcho(tb testing.TB, req, resp int) (net.Conn, func()) {
	tb.Helper()
	ln := listen(tb)
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := ln.Accept()
	if err != nil {
		a.Close()
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		in, out := make([]byte, req), make([]byte, resp)
		for {
			if _, err := io.ReadFull(srv, in); err != nil {
				return
			}
			if _, err := srv.Write(out); err != nil {
				return
			}
		}
	}()
	return a, func() {
		a.Close()
		srv.Close()
		<-done
	}
}
