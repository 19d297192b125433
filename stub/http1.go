package stub

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// clientPreface is what an HTTP/2 client sends first (RFC 9113 §3.4).
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// sniffs reports whether the server tells HTTP/1.1 connections from
// HTTP/2 ones: only when it has something to answer them with.
func (s *Server) sniffs() bool { return s.opts.httpHandler != nil || s.opts.web != nil }

// sniff reads the first bytes of nc until they are the HTTP/2 client
// preface or cannot become it, and returns a connection that reads them
// again. An HTTP/1.1 request differs from the preface in its first bytes
// (no method is "PRI"), so this reads no further than the request itself
// sends, however short it is.
func sniff(nc net.Conn) (conn net.Conn, h2 bool, err error) {
	var buf [len(clientPreface)]byte
	n := 0
	for n < len(buf) {
		k, err := nc.Read(buf[n:])
		n += k
		if !bytes.HasPrefix([]byte(clientPreface), buf[:n]) {
			return &replayConn{Conn: nc, buf: buf[:n]}, false, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	return &replayConn{Conn: nc, buf: buf[:n]}, true, nil
}

// replayConn reads buf, then the connection.
type replayConn struct {
	net.Conn
	buf []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// http1Server serves the server's HTTP/1.1 connections with net/http:
// the connections come from the Serve loops' sniffing, one at a time,
// through a listener of its own.
type http1Server struct {
	srv *http.Server
	lis *connListener
}

// serveHTTP1 hands an HTTP/1.1 connection to net/http, starting its
// server on first use; on a stopped server it closes nc.
func (s *Server) serveHTTP1(nc net.Conn) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if s.h1 == nil {
		s.h1 = &http1Server{
			srv: &http.Server{
				Handler:           s,
				ReadHeaderTimeout: s.opts.connTimeout,
				ErrorLog:          httpErrorLog,
			},
			lis: &connListener{conns: make(chan net.Conn), done: make(chan struct{}), addr: nc.LocalAddr()},
		}
		s.h1.srv.Protocols = new(http.Protocols)
		s.h1.srv.Protocols.SetHTTP1(true)
		s.h1served.Add(1)
		go func(h *http1Server) {
			defer s.h1served.Done()
			h.srv.Serve(h.lis)
		}(s.h1)
	}
	lis := s.h1.lis
	s.mu.Unlock()
	if !lis.hand(nc) {
		nc.Close()
	}
}

// stopHTTP1 closes the HTTP/1.1 server, at once or gracefully, and waits
// for its Serve loop to return.
func (s *Server) stopHTTP1(graceful bool) {
	s.mu.Lock()
	h := s.h1
	s.mu.Unlock()
	if h != nil {
		h.lis.Close()
		if graceful {
			h.srv.Shutdown(context.Background())
		} else {
			h.srv.Close()
		}
	}
	s.h1served.Wait()
}

// connListener is a net.Listener whose connections are handed to it.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
	addr  net.Addr
}

// hand gives nc to Accept; false once the listener is closed.
func (l *connListener) hand(nc net.Conn) bool {
	select {
	case l.conns <- nc:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case nc := <-l.conns:
		return nc, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

// sniffConn sniffs nc within the connection timeout; a stop of the
// server meanwhile closes nc.
func (s *Server) sniffConn(nc net.Conn) (net.Conn, bool, error) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil, false, ErrServerStopped
	}
	s.sniffing[nc] = struct{}{}
	s.mu.Unlock()
	nc.SetReadDeadline(time.Now().Add(s.opts.connTimeout))
	c, h2, err := sniff(nc)
	nc.SetReadDeadline(time.Time{})
	s.mu.Lock()
	delete(s.sniffing, nc)
	stopped := s.stopped
	s.mu.Unlock()
	if err == nil && stopped {
		err = ErrServerStopped
	}
	return c, h2, err
}
