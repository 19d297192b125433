package stream

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	xhpack "golang.org/x/net/http2/hpack"
)

// fuzzSeeds are valid client frame sequences that follow the preface and
// an empty SETTINGS frame.
func fuzzSeeds() [][]byte {
	build := func(write func(fr *http2.Framer, block func(kv ...string) []byte)) []byte {
		var out, hb bytes.Buffer
		enc := xhpack.NewEncoder(&hb)
		block := func(kv ...string) []byte {
			hb.Reset()
			for i := 0; i+1 < len(kv); i += 2 {
				enc.WriteField(xhpack.HeaderField{Name: kv[i], Value: kv[i+1]})
			}
			return bytes.Clone(hb.Bytes())
		}
		fr := http2.NewFramer(&out, nil)
		fr.WriteSettingsAck()
		write(fr, block)
		return out.Bytes()
	}
	req := requestKV("/fuzz")
	return [][]byte{
		build(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(req...), EndStream: true, EndHeaders: true})
		}),
		build(func(fr *http2.Framer, block func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(req...), EndHeaders: true})
			fr.WriteData(1, false, []byte("hello"))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block("x-trailer", "1"), EndStream: true, EndHeaders: true})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block(req...), EndHeaders: true})
			fr.WriteWindowUpdate(0, 1000)
			fr.WriteWindowUpdate(3, 1000)
			fr.WriteDataPadded(3, true, []byte("x"), make([]byte, 10))
		}),
		build(func(fr *http2.Framer, block func(...string) []byte) {
			b := block(req...)
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:3]})
			fr.WriteContinuation(1, true, b[3:])
			fr.WritePing(false, [8]byte{1})
			fr.WriteRSTStream(1, http2.ErrCodeCancel)
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
			fr.WritePriority(5, http2.PriorityParam{StreamDep: 1, Weight: 3})
			fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		}),
	}
}

// FuzzServerConn writes arbitrary bytes after a valid preface and SETTINGS
// to a server connection. The server must not panic, must answer a PING
// that follows or close the connection, and must close once the client
// goes away, all within a deadline.
func FuzzServerConn(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(fuzzOne)
}

func fuzzOne(t *testing.T, data []byte) {
	{
		cnc, snc := net.Pipe()
		defer cnc.Close()
		// Read whatever the server sends; report a PING ACK carrying probe.
		probe := [8]byte{'f', 'u', 'z', 'z'}
		answered := make(chan struct{})
		go func() {
			fr := http2.NewFramer(nil, cnc)
			for {
				fr2, err := fr.ReadFrame()
				if err != nil {
					io.Copy(io.Discard, cnc) // keep the server's writes moving
					return
				}
				if p, ok := fr2.(*http2.PingFrame); ok && p.IsAck() && p.Data == probe {
					close(answered)
				}
			}
		}()
		srv := NewServerConn(snc, &Config{SettingsTimeout: time.Second, WriteTimeout: time.Second}, func(s *Stream) {
			io.Copy(io.Discard, io.LimitReader(s, 1<<20))
			s.WriteHeaders(append(okResponse[:2:2], okTrailers...), true, true)
		})
		deadline := time.Now().Add(5 * time.Second)
		cnc.SetWriteDeadline(deadline)
		var head bytes.Buffer
		head.WriteString(http2.ClientPreface)
		http2.NewFramer(&head, nil).WriteSettings()
		cnc.Write(head.Bytes())
		cnc.Write(data)
		var ping bytes.Buffer
		http2.NewFramer(&ping, nil).WritePing(false, probe)
		if _, err := cnc.Write(ping.Bytes()); err == nil {
			// The server read the PING. Unless data left a header block or
			// a frame open, it answers it; either way it must not hang.
			select {
			case <-answered:
			case <-srv.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
		cnc.Close()
		select {
		case <-srv.Done():
		case <-time.After(time.Until(deadline)):
			t.Fatal("server still open after the client closed")
		}
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("server goroutines still running after close")
		}
	}
}
