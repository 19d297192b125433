package soak

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

// A request is "<id>/<i>/<body>": the call's ID, the message's index in
// the call and a body. The server answers each with reply(request), a
// server-streaming call with reply(request)+"#i", a client-streaming call
// with the requests joined by "+".
func request(id uint64, i int, body string) string {
	return strconv.FormatUint(id, 10) + "/" + strconv.Itoa(i) + "/" + body
}

func reply(req string) string { return "re:" + req }

func streamReply(req string, i int) string { return reply(req) + "#" + strconv.Itoa(i) }

func idOf(req string) (uint64, error) {
	s, _, _ := strings.Cut(req, "/")
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, status.Errorf(codes.InvalidArgument, "soak: request %.40q has no call ID", req)
	}
	return id, nil
}

// ledger records by call ID which calls a server started and which it
// completed: its handler was about to end them OK.
type ledger struct{ started, completed bitset }

// bitset is a growing set of small integers.
type bitset struct {
	mu    sync.Mutex
	words []uint64
}

func (b *bitset) set(i uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := int(i / 64)
	if w >= len(b.words) {
		b.words = append(b.words, make([]uint64, w+1-len(b.words)+len(b.words)/2)...)
	}
	b.words[w] |= 1 << (i % 64)
}

func (b *bitset) has(i uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := int(i / 64)
	return w < len(b.words) && b.words[w]&(1<<(i%64)) != 0
}

// echoServer serves the Echo methods and records them in the ledger.
type echoServer struct {
	pb.UnimplementedEchoServer
	l *ledger
}

func (s *echoServer) Unary(ctx context.Context, in *pb.Request) (*pb.Response, error) {
	id, err := idOf(in.GetPayload())
	if err != nil {
		return nil, err
	}
	s.l.started.set(id)
	out := &pb.Response{Payload: reply(in.GetPayload())}
	s.l.completed.set(id)
	return out, nil
}

func (s *echoServer) ServerStream(in *pb.Request, ss stub.ServerStreamingServer[pb.Response]) error {
	id, err := idOf(in.GetPayload())
	if err != nil {
		return err
	}
	s.l.started.set(id)
	for i := range int(in.GetCount()) {
		if err := ss.Send(&pb.Response{Payload: streamReply(in.GetPayload(), i)}); err != nil {
			return err
		}
	}
	s.l.completed.set(id)
	return nil
}

func (s *echoServer) ClientStream(ss stub.ClientStreamingServer[pb.Request, pb.Response]) error {
	got, err := s.requests(ss.Recv, nil)
	if err != nil {
		return err
	}
	return ss.SendAndClose(&pb.Response{Payload: strings.Join(got, "+")})
}

func (s *echoServer) Bidi(ss stub.BidiStreamingServer[pb.Request, pb.Response]) error {
	_, err := s.requests(ss.Recv, func(req string) error { return ss.Send(&pb.Response{Payload: reply(req)}) })
	return err
}

// requests receives the requests of a streaming call, checking that they
// belong to the call in order and answering each with answer (when not
// nil), and records the call as started at the first and completed at the
// end.
func (s *echoServer) requests(recv func() (*pb.Request, error), answer func(req string) error) ([]string, error) {
	var got []string
	var id uint64
	for {
		m, err := recv()
		if err == io.EOF {
			if len(got) == 0 {
				return nil, status.Error(codes.InvalidArgument, "soak: no request")
			}
			s.l.completed.set(id)
			return got, nil
		}
		if err != nil {
			return nil, err
		}
		req := m.GetPayload()
		if len(got) == 0 {
			if id, err = idOf(req); err != nil {
				return nil, err
			}
			s.l.started.set(id)
		} else if !strings.HasPrefix(req, request(id, len(got), "")) {
			return nil, status.Errorf(codes.DataLoss, "soak: request %.40q after %d requests of call %d", req, len(got), id)
		}
		got = append(got, req)
		if answer != nil {
			if err := answer(req); err != nil {
				return nil, err
			}
		}
	}
}

// slot is one server address: a stub.Server that is stopped and started
// again on the same port, and the client connection to it.
type slot struct {
	addr   string
	l      *ledger
	srv    *stub.Server
	served chan error
	cc     *stub.ClientConn
	client pb.EchoClient

	// Hard stops begun and ended; a call overlapped one if, when it ended,
	// more had begun than had ended when it started.
	hardBegun, hardEnded atomic.Int64
	graceful, hard       int // stops done, for the summary
}

// start serves on the slot's address; a new slot takes a free port.
func (s *slot) start() error {
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lis net.Listener
	var err error
	// The port was just freed by the server's own Stop; listening on it
	// again can take a moment.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if lis, err = net.Listen("tcp", addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("restarting the server on %s: %v", addr, err)
	}
	s.addr = lis.Addr().String()
	s.srv = stub.NewServer()
	pb.RegisterEchoServer(s.srv, &echoServer{l: s.l})
	s.served = make(chan error, 1)
	go func() { s.served <- s.srv.Serve(lis) }()
	return nil
}

// stop stops the server, gracefully or hard, and waits for Serve to
// return; it fails after timeout.
func (s *slot) stop(hard bool, timeout time.Duration) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if hard {
			s.hardBegun.Add(1)
			s.srv.Stop()
			s.hardEnded.Add(1)
		} else {
			s.srv.GracefulStop()
		}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		return fmt.Errorf("server %s: stop (hard %v) has not returned after %v", s.addr, hard, timeout)
	}
	if hard {
		s.hard++
	} else {
		s.graceful++
	}
	if err := <-s.served; err != nil {
		return fmt.Errorf("server %s: Serve: %v", s.addr, err)
	}
	return nil
}
