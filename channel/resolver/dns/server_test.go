package dns

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer is a DNS server on loopback UDP that answers A and AAAA
// queries from a table a test changes as it goes. Names not in the table
// are NXDOMAIN; a name given an rcode gets that rcode and no answers.
type dnsServer struct {
	pc   net.PacketConn
	done chan struct{}

	mu      sync.Mutex
	records map[string][]netip.Addr     // by lowercase name without the final dot
	rcodes  map[string]dnsmessage.RCode // overrides records
	queries map[string]int              // questions received, by name
	drop    bool                        // read queries and answer none
}

// startDNSServer starts a server that t stops when it ends.
func startDNSServer(t testing.TB) *dnsServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsServer{
		pc:      pc,
		done:    make(chan struct{}),
		records: map[string][]netip.Addr{},
		rcodes:  map[string]dnsmessage.RCode{},
		queries: map[string]int{},
	}
	go s.serve()
	t.Cleanup(func() {
		pc.Close()
		<-s.done
	})
	return s
}

// Addr returns the server's host:port.
func (s *dnsServer) Addr() string { return s.pc.LocalAddr().String() }

// Set makes name resolve to addrs (none: NOERROR without answers), and
// clears an rcode set for it.
func (s *dnsServer) Set(name string, addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ips := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		ips[i] = netip.MustParseAddr(a)
	}
	s.records[name] = ips
	delete(s.rcodes, name)
}

// Fail makes queries for name answer rcode.
func (s *dnsServer) Fail(name string, rcode dnsmessage.RCode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcodes[name] = rcode
}

// Drop makes the server ignore every query from now on.
func (s *dnsServer) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop = true
}

// Queries returns how many questions for name the server received.
func (s *dnsServer) Queries(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[name]
}

func (s *dnsServer) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		if reply, ok := s.answer(buf[:n]); ok {
			s.pc.WriteTo(reply, from)
		}
	}
}

// answer returns the reply to query, or false for none.
func (s *dnsServer) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))

	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries[name]++
	if s.drop {
		return nil, false
	}
	addrs, known := s.records[name]
	rcode, failed := s.rcodes[name]
	switch {
	case failed:
	case known:
		rcode = dnsmessage.RCodeSuccess
	default:
		rcode = dnsmessage.RCodeNameError
	}

	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
		ID: h.ID, Response: true, Authoritative: true,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true, RCode: rcode,
	})
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	for _, a := range addrs {
		switch {
		case failed:
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, false
		}
	}
	reply, err := b.Finish()
	return reply, err == nil
}
