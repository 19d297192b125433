package stream

import (
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/h2rpc/h2rpc/frame/frametest"
	"golang.org/x/net/http2"
)

// TestSettingsTimeoutOnTime: a peer that never acknowledges our SETTINGS
// is sent GOAWAY SETTINGS_TIMEOUT exactly when the timeout passes, not
// before, in a bubble whose clock moves only when every goroutine waits.
func TestSettingsTimeoutOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 10 * time.Second
		cnc, snc := net.Pipe()
		p := frametest.NewPeer(cnc)
		p.Timeout = time.Hour
		start := time.Now()
		sc := make(chan *Conn, 1)
		// NewServerConn returns once its preface is read (net.Pipe).
		go func() { sc <- NewServerConn(snc, &Config{SettingsTimeout: timeout}, hold) }()
		if err := p.WriteRaw([]byte(http2.ClientPreface)); err != nil {
			t.Fatal(err)
		}
		if err := p.WriteSettings(); err != nil {
			t.Fatal(err)
		}
		// Read everything the server sends, noting when GOAWAY comes.
		goAway := make(chan time.Duration, 1)
		go func() {
			for {
				f, err := p.ReadFrame()
				if err != nil {
					return
				}
				if ga, ok := f.(*http2.GoAwayFrame); ok && ga.ErrCode == http2.ErrCodeSettingsTimeout {
					goAway <- time.Since(start)
				}
			}
		}()
		srv := <-sc
		defer func() {
			cnc.Close()
			srv.Close()
			srv.Wait()
		}()
		time.Sleep(timeout - time.Millisecond)
		synctest.Wait()
		if err := srv.Err(); err != nil {
			t.Fatalf("closed before the timeout, at %v: %v", time.Since(start), err)
		}
		if got := <-goAway; got != timeout {
			t.Fatalf("GOAWAY after %v, want %v", got, timeout)
		}
	})
}

// TestSettingsAckStopsTimer: once the peer acknowledges, the timeout never
// fires, however long the connection lives.
func TestSettingsAckStopsTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cnc, snc := net.Pipe()
		p := frametest.NewPeer(cnc)
		p.Timeout = 24 * time.Hour
		errc := make(chan error, 1)
		go func() { errc <- p.Handshake(true) }()
		srv := NewServerConn(snc, &Config{SettingsTimeout: time.Second}, hold)
		defer func() {
			cnc.Close()
			srv.Close()
			srv.Wait()
		}()
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if err := srv.Err(); err != nil {
			t.Fatalf("connection closed: %v", err)
		}
	})
}
