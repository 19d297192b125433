package gossip

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
)

// netNodes starts n nodes over UDP and TCP on 127.0.0.1.
func netNodes(t *testing.T, n int, tweak func(*Config)) []*Node {
	t.Helper()
	var nodes []*Node
	for i := 0; i < n; i++ {
		tr, err := NewNetTransport(NetConfig{Bind: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		cfg := Local()
		cfg.Name = fmt.Sprintf("real%d", i)
		cfg.Transport = tr
		if tweak != nil {
			tweak(&cfg)
		}
		nd, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, nd)
	}
	return nodes
}

// eventually polls cond every 20ms for up to d.
func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func TestRealClusterOverUDPAndTCP(t *testing.T) {
	leakcheck.Check(t)
	keyring, _ := NewKeyring(key(9))
	nodes := netNodes(t, 4, func(c *Config) { c.Keyring = keyring; c.Label = "test" })
	defer func() {
		for _, n := range nodes {
			n.Shutdown()
		}
	}()
	for _, n := range nodes[1:] {
		if _, err := n.Join([]string{nodes[0].Addr()}); err != nil {
			t.Fatal(err)
		}
	}
	if !eventually(10*time.Second, func() bool {
		for _, n := range nodes {
			if n.NumAlive() != 4 {
				return false
			}
		}
		return true
	}) {
		t.Fatal("real cluster did not converge in 10s")
	}
	nodes[3].Shutdown()
	if !eventually(15*time.Second, func() bool {
		for _, n := range nodes[:3] {
			if m, _ := n.Member("real3"); m.State != StateDead {
				return false
			}
		}
		return true
	}) {
		t.Fatal("killed member not declared dead in 15s")
	}
}

// blockingHandler holds every packet until released.
type blockingHandler struct {
	release chan struct{}
	mu      sync.Mutex
	got     [][]byte
}

func (h *blockingHandler) HandlePacket(from string, b []byte) {
	<-h.release
	h.mu.Lock()
	h.got = append(h.got, append([]byte(nil), b...))
	h.mu.Unlock()
}

func (h *blockingHandler) HandleStream(from string, req []byte) []byte {
	<-h.release
	return req
}

func TestNetTransportKeepsAliveWhenQueueFull(t *testing.T) {
	leakcheck.Check(t)
	tr, err := NewNetTransport(NetConfig{Bind: "127.0.0.1:0", QueueLen: 8})
	if err != nil {
		t.Fatal(err)
	}
	h := &blockingHandler{release: make(chan struct{})}
	tr.Start(h)
	c, err := net.Dial("udp", tr.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	plain := appendHeader(nil, 0, "")
	prio := appendHeader(nil, flagPriority, "")
	prio = append(prio, 'P')
	// One packet occupies the handler; then a flood fills the queue.
	for i := 0; i < 100; i++ {
		c.Write(plain)
		time.Sleep(100 * time.Microsecond)
	}
	if !eventually(5*time.Second, func() bool { d, _ := tr.Dropped(); return d > 0 }) {
		t.Fatal("flood not dropped")
	}
	c.Write(prio)
	time.Sleep(50 * time.Millisecond)
	close(h.release)
	if !eventually(5*time.Second, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, b := range h.got {
			if len(b) == 4 && b[3] == 'P' {
				return i <= 1 // handled right after the packet in hand
			}
		}
		return false
	}) {
		t.Fatal("priority packet was not handled ahead of the queue")
	}
	tr.Close()
}

func TestNetTransportBoundsStreams(t *testing.T) {
	leakcheck.Check(t)
	tr, err := NewNetTransport(NetConfig{Bind: "127.0.0.1:0", MaxStreams: 2, StreamTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := &blockingHandler{release: make(chan struct{})}
	tr.Start(h)
	client, _ := NewNetTransport(NetConfig{Bind: "127.0.0.1:0"})
	client.Start(&blockingHandler{release: make(chan struct{})})
	var answered, failed atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		client.Exchange(tr.Addr(), []byte{byte(i)}, 5*time.Second, func(resp []byte, err error) {
			defer wg.Done()
			if err != nil {
				failed.Add(1)
			} else {
				answered.Add(1)
			}
		})
	}
	if !eventually(5*time.Second, func() bool { _, r := tr.Dropped(); return r >= 4 }) {
		_, r := tr.Dropped()
		t.Fatalf("refused %d streams, want 4", r)
	}
	close(h.release)
	wg.Wait()
	if answered.Load() != 2 || failed.Load() != 4 {
		t.Fatalf("answered %d, failed %d; want 2 and 4", answered.Load(), failed.Load())
	}
	client.Close()
	tr.Close()
}

func TestNetTransportRejectsOversizedFrames(t *testing.T) {
	leakcheck.Check(t)
	tr, _ := NewNetTransport(NetConfig{Bind: "127.0.0.1:0", StreamTimeout: 2 * time.Second})
	h := &blockingHandler{release: make(chan struct{})}
	close(h.release)
	tr.Start(h)
	defer tr.Close()
	c, err := net.Dial("tcp", tr.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0xff, 0xff, 0xff, 0xff})
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	var b [1]byte
	if n, err := c.Read(b[:]); err == nil || n != 0 {
		t.Fatal("oversized frame got an answer")
	}
}
