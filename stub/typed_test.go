package stub

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/h2rpc/h2rpc/channel/metadata"
)

type msg struct{ v string }

// fakeStream records what the typed streams send and replays queued
// messages, on both the client and the server side.
type fakeStream struct {
	sent      []string
	queue     []string
	closed    bool
	recvAfter error
}

func (f *fakeStream) SendMsg(m any) error { f.sent = append(f.sent, m.(*msg).v); return nil }
func (f *fakeStream) RecvMsg(m any) error {
	if len(f.queue) == 0 {
		if f.recvAfter != nil {
			return f.recvAfter
		}
		return io.EOF
	}
	m.(*msg).v, f.queue = f.queue[0], f.queue[1:]
	return nil
}
func (f *fakeStream) CloseSend() error             { f.closed = true; return nil }
func (f *fakeStream) Header() (metadata.MD, error) { return nil, nil }
func (f *fakeStream) Trailer() metadata.MD         { return nil }
func (f *fakeStream) Context() context.Context     { return context.Background() }
func (f *fakeStream) SetHeader(metadata.MD) error  { return nil }
func (f *fakeStream) SendHeader(metadata.MD) error { return nil }
func (f *fakeStream) SetTrailer(metadata.MD)       {}

func TestGenericClientStream(t *testing.T) {
	f := &fakeStream{queue: []string{"a", "b"}}
	var s BidiStreamingClient[msg, msg] = &GenericClientStream[msg, msg]{ClientStream: f}
	if err := s.Send(&msg{"x"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a", "b"} {
		m, err := s.Recv()
		if err != nil || m.v != want {
			t.Fatalf("Recv = %v, %v; want %q", m, err, want)
		}
	}
	if m, err := s.Recv(); err != io.EOF || m != nil {
		t.Fatalf("Recv at end = %v, %v; want nil, io.EOF", m, err)
	}
	if len(f.sent) != 1 || f.sent[0] != "x" {
		t.Fatalf("sent %q", f.sent)
	}
}

func TestGenericClientStreamCloseAndRecv(t *testing.T) {
	f := &fakeStream{queue: []string{"reply"}}
	var s ClientStreamingClient[msg, msg] = &GenericClientStream[msg, msg]{ClientStream: f}
	m, err := s.CloseAndRecv()
	if err != nil || m.v != "reply" || !f.closed {
		t.Fatalf("CloseAndRecv = %v, %v (closed %v)", m, err, f.closed)
	}
	boom := errors.New("boom")
	f = &fakeStream{recvAfter: boom}
	s = &GenericClientStream[msg, msg]{ClientStream: f}
	if m, err := s.CloseAndRecv(); err != boom || m != nil {
		t.Fatalf("CloseAndRecv = %v, %v; want nil, boom", m, err)
	}
}

func TestGenericServerStream(t *testing.T) {
	f := &fakeStream{queue: []string{"req"}}
	var s ClientStreamingServer[msg, msg] = &GenericServerStream[msg, msg]{ServerStream: f}
	m, err := s.Recv()
	if err != nil || m.v != "req" {
		t.Fatalf("Recv = %v, %v", m, err)
	}
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("Recv at end: %v", err)
	}
	if err := s.SendAndClose(&msg{"res"}); err != nil || f.sent[0] != "res" {
		t.Fatalf("SendAndClose: %v, sent %q", err, f.sent)
	}
	var b BidiStreamingServer[msg, msg] = &GenericServerStream[msg, msg]{ServerStream: f}
	if err := b.Send(&msg{"more"}); err != nil || f.sent[1] != "more" {
		t.Fatalf("Send: %v, sent %q", err, f.sent)
	}
}
