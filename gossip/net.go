package gossip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// NetConfig configures a NetTransport.
type NetConfig struct {
	// Bind is the address for both the UDP and the TCP socket, host:port;
	// port 0 picks a free port shared by both.
	Bind string
	// Advertise, if set, is the address given to other members instead of
	// the bound one.
	Advertise string
	// QueueLen bounds the inbound packets waiting to be handled; when the
	// queue is full, packets without alive messages are dropped first.
	QueueLen int
	// MaxStreams bounds the inbound streams handled at once; more are
	// closed unanswered.
	MaxStreams int
	// StreamTimeout bounds reading and answering one inbound stream.
	StreamTimeout time.Duration
}

// NetTransport carries packets over UDP and streams over TCP on the same
// port. A stream is one request and one response, each framed by a 4-byte
// big-endian length.
type NetTransport struct {
	cfg    NetConfig
	udp    *net.UDPConn
	tcp    *net.TCPListener
	addr   string
	h      Handler
	closed chan struct{}
	wg     sync.WaitGroup

	prio, normal chan inbound
	streams      chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	shut  bool

	dropped, refused atomic.Uint64
}

type inbound struct {
	from string
	b    []byte
}

// NewNetTransport binds the sockets. Start begins serving them.
func NewNetTransport(cfg NetConfig) (*NetTransport, error) {
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 1024
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = 64
	}
	if cfg.StreamTimeout <= 0 {
		cfg.StreamTimeout = 10 * time.Second
	}
	host, port, err := net.SplitHostPort(cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("gossip: bind address %q: %v (want host:port)", cfg.Bind, err)
	}
	t := &NetTransport{
		cfg:     cfg,
		closed:  make(chan struct{}),
		prio:    make(chan inbound, cfg.QueueLen/4+1),
		normal:  make(chan inbound, cfg.QueueLen),
		streams: make(chan struct{}, cfg.MaxStreams),
		conns:   make(map[net.Conn]struct{}),
	}
	// With port 0, the UDP socket takes the port the kernel gave TCP;
	// retry if that port is taken for UDP.
	for tries := 0; ; tries++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, fmt.Errorf("gossip: listen tcp %s: %w", cfg.Bind, err)
		}
		tcp := ln.(*net.TCPListener)
		p := tcp.Addr().(*net.TCPAddr).Port
		udpAddr, _ := net.ResolveUDPAddr("udp", net.JoinHostPort(host, strconv.Itoa(p)))
		udp, err := net.ListenUDP("udp", udpAddr)
		if err != nil {
			tcp.Close()
			if port == "0" && tries < 10 {
				continue
			}
			return nil, fmt.Errorf("gossip: listen udp %s: %w", cfg.Bind, err)
		}
		_ = udp.SetReadBuffer(4 << 20)
		t.tcp, t.udp = tcp, udp
		break
	}
	t.addr = cfg.Advertise
	if t.addr == "" {
		t.addr = t.tcp.Addr().String()
	}
	return t, nil
}

// Addr returns the advertised address.
func (t *NetTransport) Addr() string { return t.addr }

// Dropped returns the number of inbound packets dropped because the queue
// was full, and of streams refused over MaxStreams.
func (t *NetTransport) Dropped() (packets, streams uint64) {
	return t.dropped.Load(), t.refused.Load()
}

// Start serves the sockets until Close.
func (t *NetTransport) Start(h Handler) error {
	if t.h != nil {
		return errors.New("gossip: transport already started")
	}
	t.h = h
	t.wg.Add(3)
	go t.readPackets()
	go t.handlePackets()
	go t.acceptStreams()
	return nil
}

func (t *NetTransport) readPackets() {
	defer t.wg.Done()
	buf := make([]byte, maxPacketLen+1)
	for {
		n, from, err := t.udp.ReadFromUDP(buf)
		if err != nil {
			select {
			case <-t.closed:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			// Transient errors (ICMP-induced on some systems): go on.
			continue
		}
		p := inbound{from: from.String(), b: append([]byte(nil), buf[:n]...)}
		q := t.normal
		if n >= 2 && buf[1]&flagPriority != 0 {
			// Alive messages (joins, refutations) have their own queue,
			// handled first, so they survive a flood.
			q = t.prio
		}
		select {
		case q <- p:
		default:
			t.dropped.Add(1)
		}
	}
}

func (t *NetTransport) handlePackets() {
	defer t.wg.Done()
	for {
		select {
		case p := <-t.prio:
			t.h.HandlePacket(p.from, p.b)
			continue
		default:
		}
		select {
		case p := <-t.prio:
			t.h.HandlePacket(p.from, p.b)
		case p := <-t.normal:
			t.h.HandlePacket(p.from, p.b)
		case <-t.closed:
			return
		}
	}
}

func (t *NetTransport) acceptStreams() {
	defer t.wg.Done()
	for {
		c, err := t.tcp.Accept()
		if err != nil {
			select {
			case <-t.closed:
				return
			default:
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		select {
		case t.streams <- struct{}{}:
		default:
			t.refused.Add(1)
			c.Close()
			continue
		}
		if !t.track(c) {
			<-t.streams
			continue
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer func() { <-t.streams }()
			defer t.untrack(c)
			t.serveStream(c)
		}()
	}
}

func (t *NetTransport) serveStream(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(t.cfg.StreamTimeout))
	req, err := readFrame(c)
	if err != nil {
		return
	}
	resp := t.h.HandleStream(c.RemoteAddr().String(), req)
	if resp == nil {
		return
	}
	_ = writeFrame(c, resp)
}

// track registers a connection so Close can interrupt it; it refuses
// after Close.
func (t *NetTransport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shut {
		c.Close()
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *NetTransport) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
}

func readFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxStreamLen {
		return nil, errTooLong
	}
	// Read in bounded steps so that a peer announcing a large frame must
	// actually send it before we hold that much memory.
	var b []byte
	for uint32(len(b)) < n {
		step := min(n-uint32(len(b)), 64<<10)
		start := len(b)
		b = append(b, make([]byte, step)...)
		if _, err := io.ReadFull(r, b[start:]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func writeFrame(w io.Writer, b []byte) error {
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err := w.Write(buf)
	return err
}

// SendPacket sends one UDP datagram.
func (t *NetTransport) SendPacket(to string, b []byte) error {
	if ap, err := netip.ParseAddrPort(to); err == nil {
		_, err = t.udp.WriteToUDPAddrPort(b, ap)
		return err
	}
	// A host name: resolve it (members normally advertise IP addresses).
	ua, err := net.ResolveUDPAddr("udp", to)
	if err != nil {
		return err
	}
	_, err = t.udp.WriteToUDP(b, ua)
	return err
}

// Exchange dials a TCP stream, sends req and reads the response.
func (t *NetTransport) Exchange(to string, req []byte, timeout time.Duration, done func([]byte, error)) {
	t.mu.Lock()
	if t.shut {
		t.mu.Unlock()
		go done(nil, ErrClosed)
		return
	}
	t.wg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.wg.Done()
		resp, err := t.exchange(to, req, timeout)
		done(resp, err)
	}()
}

func (t *NetTransport) exchange(to string, req []byte, timeout time.Duration) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("tcp", to)
	if err != nil {
		return nil, err
	}
	if !t.track(c) {
		return nil, ErrClosed
	}
	defer t.untrack(c)
	_ = c.SetDeadline(deadline)
	if err := writeFrame(c, req); err != nil {
		return nil, err
	}
	return readFrame(c)
}

// Close closes the sockets and every open stream and waits for the
// transport's goroutines to finish.
func (t *NetTransport) Close() error {
	t.mu.Lock()
	if t.shut {
		t.mu.Unlock()
		return nil
	}
	t.shut = true
	close(t.closed)
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.udp.Close()
	t.tcp.Close()
	t.wg.Wait()
	return nil
}
