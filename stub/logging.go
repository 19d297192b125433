package stub

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/h2rpc/h2rpc/channel/peer"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/logx"
	"google.golang.org/protobuf/proto"
)

// SetLogger sets the library's own logger, for what no call's result
// shows: connections that fail, GOAWAYs received, keepalive ping strikes,
// subchannels that cannot connect. It is silent until set; nil silences it
// again.
func SetLogger(l *slog.Logger) { logx.Set(l) }

// msgSize is the encoded size of a protobuf message, or -1 for another
// kind of message.
func msgSize(m any) int {
	if pm, ok := m.(proto.Message); ok {
		return proto.Size(pm)
	}
	return -1
}

// logCall writes one record for a finished call: its method, status code,
// duration, peer and message counts and sizes; failures at warn level when
// the code says the server failed, other ends at info level.
func logCall(ctx context.Context, l *slog.Logger, side, method string, start time.Time, err error, p any, sent, rcvd *msgCount) {
	st := status.Convert(err)
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
	}
	if !l.Enabled(ctx, level) {
		return
	}
	l.LogAttrs(ctx, level, "h2rpc: call ended",
		slog.String("side", side),
		slog.String("method", method),
		slog.String("code", st.Code().String()),
		slog.Duration("duration", time.Since(start)),
		slog.Any("peer", p),
		slog.Int("sent_msgs", sent.n), slog.Int("sent_bytes", sent.bytes),
		slog.Int("rcvd_msgs", rcvd.n), slog.Int("rcvd_bytes", rcvd.bytes),
	)
}

// msgCount counts messages and their encoded bytes.
type msgCount struct{ n, bytes int }

func (c *msgCount) add(m any) {
	c.n++
	if s := msgSize(m); s > 0 {
		c.bytes += s
	}
}

func serverPeer(ctx context.Context) any {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return nil
}

// UnaryClientLogger returns an interceptor that logs every unary call to l
// when it ends.
func UnaryClientLogger(l *slog.Logger) UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *ClientConn, invoker UnaryInvoker, opts ...CallOption) error {
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		sent, rcvd := msgCount{}, msgCount{}
		sent.add(req)
		if err == nil {
			rcvd.add(reply)
		}
		logCall(ctx, l, "client", method, start, err, cc.Target(), &sent, &rcvd)
		return err
	}
}

// StreamClientLogger returns an interceptor that logs every streaming call
// to l when it ends (when RecvMsg returns its status).
func StreamClientLogger(l *slog.Logger) StreamClientInterceptor {
	return func(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, streamer Streamer, opts ...CallOption) (ClientStream, error) {
		start := time.Now()
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			logCall(ctx, l, "client", method, start, err, cc.Target(), &msgCount{}, &msgCount{})
			return nil, err
		}
		ls := &loggedClientStream{ClientStream: cs}
		ls.end = func(err error) { logCall(ctx, l, "client", method, start, err, cc.Target(), &ls.sent, &ls.rcvd) }
		return ls, nil
	}
}

// loggedClientStream counts a streaming call's messages. SendMsg and
// RecvMsg may be on two goroutines, so the counts are guarded.
type loggedClientStream struct {
	ClientStream
	mu         sync.Mutex
	sent, rcvd msgCount
	once       sync.Once
	end        func(error)
}

func (s *loggedClientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err == nil {
		s.mu.Lock()
		s.sent.add(m)
		s.mu.Unlock()
	}
	return err
}

func (s *loggedClientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		s.mu.Lock()
		s.rcvd.add(m)
		s.mu.Unlock()
		return nil
	}
	s.once.Do(func() {
		end := err
		if end == io.EOF {
			end = nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.end(end)
	})
	return err
}

// UnaryServerLogger returns an interceptor that logs every unary call to l
// when its handler returns.
func UnaryServerLogger(l *slog.Logger) UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *UnaryServerInfo, handler UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		sent, rcvd := msgCount{}, msgCount{}
		rcvd.add(req)
		if err == nil {
			sent.add(resp)
		}
		logCall(ctx, l, "server", info.FullMethod, start, err, serverPeer(ctx), &sent, &rcvd)
		return resp, err
	}
}

// StreamServerLogger returns an interceptor that logs every streaming call
// to l when its handler returns.
func StreamServerLogger(l *slog.Logger) StreamServerInterceptor {
	return func(srv any, ss ServerStream, info *StreamServerInfo, handler StreamHandler) error {
		start := time.Now()
		ls := &loggedServerStream{ServerStream: ss}
		err := handler(srv, ls)
		ls.mu.Lock()
		defer ls.mu.Unlock()
		logCall(ss.Context(), l, "server", info.FullMethod, start, err, serverPeer(ss.Context()), &ls.sent, &ls.rcvd)
		return err
	}
}

// loggedServerStream counts a streaming call's messages.
type loggedServerStream struct {
	ServerStream
	mu         sync.Mutex
	sent, rcvd msgCount
}

func (s *loggedServerStream) SendMsg(m any) error {
	err := s.ServerStream.SendMsg(m)
	if err == nil {
		s.mu.Lock()
		s.sent.add(m)
		s.mu.Unlock()
	}
	return err
}

func (s *loggedServerStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err == nil {
		s.mu.Lock()
		s.rcvd.add(m)
		s.mu.Unlock()
	}
	return err
}
