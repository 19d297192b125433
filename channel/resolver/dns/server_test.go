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

// dnsServer is a DNS server on loopback UDP that answers A, AAAA and TXT
// queries from tables a test changes as it goes. Names in neither table
// are NXDOMAIN; a name given an rcode gets that rcode and no answers.
type dnsServer struct {
	pc   net.PacketConn
	done chan struct{}

	mu      sync.Mutex
	records map[string][]netip.Addr     // by lowercase name without the final dot
	txts    map[string][][]string       // TXT records, each its strings, by name
	rcodes  map[string]dnsmessage.RCode // overrides records and txts
	queries map[string]int              // questions received, by name
	drop    bool                        // read queries and answer none
	dropped map[string]bool             // names whose queries get no answer
	// together holds the names whose queries are answered only once each
	// of them has been asked; held are the replies waiting for that.
	together map[string]bool
	held     []heldReply
}

type heldReply struct {
	reply []byte
	to    net.Addr
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
		txts:    map[string][][]string{},
		rcodes:  map[string]dnsmessage.RCode{},
		queries: map[string]int{},
		dropped: map[string]bool{},
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

// SetTXT gives name the TXT records, each the list of its strings, and
// clears an rcode set for it.
func (s *dnsServer) SetTXT(name string, records ...[]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txts[name] = records
	delete(s.rcodes, name)
}

// DropName makes the server ignore the queries for name from now on.
func (s *dnsServer) DropName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropped[name] = true
}

// AnswerTogether makes the server hold its replies to queries for any of
// names until each of them has been asked once: a client that waits for
// one answer before it asks the next question never gets one.
func (s *dnsServer) AnswerTogether(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.together = map[string]bool{}
	for _, n := range names {
		s.together[n] = true
	}
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
		reply, name, ok := s.answer(buf[:n])
		if !ok {
			continue
		}
		for _, h := range s.release(name, reply, from) {
			s.pc.WriteTo(h.reply, h.to)
		}
	}
}

// release returns the replies to send now that reply to from, a query
// for name, is ready: just it, or none while AnswerTogether holds it, or
// every held reply once the last of the names it set has been asked.
func (s *dnsServer) release(name string, reply []byte, from net.Addr) []heldReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := heldReply{reply, from}
	if !s.together[name] {
		return []heldReply{r}
	}
	s.held = append(s.held, r)
	for n := range s.together {
		if s.queries[n] == 0 {
			return nil
		}
	}
	out := s.held
	s.together, s.held = nil, nil
	return out
}

// answer returns the reply to query and the name it asks about, or false
// for no reply.
func (s *dnsServer) answer(query []byte) ([]byte, string, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, "", false
	}
	q, err := p.Question()
	if err != nil {
		return nil, "", false
	}
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))

	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries[name]++
	if s.drop || s.dropped[name] {
		return nil, "", false
	}
	addrs, known := s.records[name]
	txts, hasTXT := s.txts[name]
	known = known || hasTXT
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
		return nil, "", false
	}
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	if failed {
		addrs, txts = nil, nil
	}
	for _, a := range addrs {
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return nil, "", false
		}
	}
	for _, txt := range txts {
		if q.Type == dnsmessage.TypeTXT {
			if err := b.TXTResource(rh, dnsmessage.TXTResource{TXT: txt}); err != nil {
				return nil, "", false
			}
		}
	}
	reply, err := b.Finish()
	return reply, name, err == nil
}
