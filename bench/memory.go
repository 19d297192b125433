package bench

import (
	"fmt"
	"net"
	"runtime"
	"time"
)

// ConnPair is one connection with both ends open, as a benchmark sets it up.
type ConnPair interface {
	// Close closes both ends and waits for their goroutines to end.
	Close()
}

// Dialer opens one client/server connection pair over the given listener's
// address and leaves it idle (after any warm-up traffic it chooses).
type Dialer func(ln net.Listener) (ConnPair, error)

// IdleResult is the memory that idle connections hold.
type IdleResult struct {
	Conns int
	// HeapPerConn is the live heap per connection pair (client and server
	// ends together), after garbage collection, above the same number of
	// plain TCP connections.
	HeapPerConn float64
	// StackPerConn is the goroutine stack memory per connection pair.
	StackPerConn float64
	// GoroutinesPerConn is the number of goroutines per connection pair.
	GoroutinesPerConn float64
}

// String summarises the measurement on one line.
func (r IdleResult) String() string {
	return fmt.Sprintf("%d idle connections: %.0f B heap, %.0f B stacks, %.1f goroutines per connection pair",
		r.Conns, r.HeapPerConn, r.StackPerConn, r.GoroutinesPerConn)
}

type memSnapshot struct {
	heap, stack uint64
	goroutines  int
}

func snapshot() memSnapshot {
	// Two collections: the first leaves pooled buffers in the victim cache,
	// the second frees them.
	runtime.GC()
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSnapshot{heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

type rawPair struct{ a, b net.Conn }

func (p rawPair) Close() { p.a.Close(); p.b.Close() }

// dialTCP connects to ln and accepts the connection: both ends of one
// loopback TCP connection.
func dialTCP(ln net.Listener) (client, server net.Conn, err error) {
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return nil, nil, err
	}
	server, err = ln.Accept()
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return client, server, nil
}

// dialRaw opens a plain TCP connection pair, the baseline.
func dialRaw(ln net.Listener) (ConnPair, error) {
	a, b, err := dialTCP(ln)
	if err != nil {
		return nil, err
	}
	return rawPair{a, b}, nil
}

// MeasureIdle opens n connection pairs with dial on a loopback listener,
// lets them go idle and measures what they hold beyond n plain TCP pairs.
func MeasureIdle(n int, dial Dialer) (IdleResult, error) {
	measure := func(d Dialer) (memSnapshot, memSnapshot, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return memSnapshot{}, memSnapshot{}, err
		}
		defer ln.Close()
		before := snapshot()
		pairs := make([]ConnPair, 0, n)
		defer func() {
			for _, p := range pairs {
				p.Close()
			}
		}()
		for range n {
			p, err := d(ln)
			if err != nil {
				return memSnapshot{}, memSnapshot{}, err
			}
			pairs = append(pairs, p)
		}
		after := snapshot()
		runtime.KeepAlive(pairs)
		return before, after, nil
	}
	rb, ra, err := measure(dialRaw)
	if err != nil {
		return IdleResult{}, err
	}
	b, a, err := measure(dial)
	if err != nil {
		return IdleResult{}, err
	}
	perConn := func(after, before uint64) float64 { return (float64(after) - float64(before)) / float64(n) }
	return IdleResult{
		Conns:             n,
		HeapPerConn:       perConn(a.heap, b.heap) - perConn(ra.heap, rb.heap),
		StackPerConn:      perConn(a.stack, b.stack) - perConn(ra.stack, rb.stack),
		GoroutinesPerConn: float64(a.goroutines-b.goroutines) / float64(n),
	}, nil
}
