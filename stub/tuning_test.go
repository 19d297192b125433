package stub_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/frame/frametest"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
	"golang.org/x/net/http2"
)

// settingsOf returns the values of a SETTINGS frame by ID.
func settingsOf(f *http2.SettingsFrame) map[http2.SettingID]uint32 {
	m := map[http2.SettingID]uint32{}
	f.ForeachSetting(func(s http2.Setting) error { m[s.ID] = s.Val; return nil })
	return m
}

// TestServerTuningAnnounced: the server's window and header-list options
// are what its SETTINGS announce; a window below 64 KiB is ignored.
func TestServerTuningAnnounced(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{sopts: []stub.ServerOption{
		stub.InitialWindowSize(1 << 20), stub.MaxHeaderListSize(10000),
		stub.InitialConnWindowSize(1000), stub.ReadBufferSize(8 << 10), stub.WriteBufferSize(64 << 10),
	}})
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p := frametest.NewPeer(nc)
	if err := p.WriteRaw([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	f, err := p.ExpectSettings()
	if err != nil {
		t.Fatal(err)
	}
	got := settingsOf(f)
	if got[http2.SettingInitialWindowSize] != 1<<20 || got[http2.SettingMaxHeaderListSize] != 10000 {
		t.Fatalf("SETTINGS %v", got)
	}
	// The connection window is announced by WINDOW_UPDATE: the option
	// below 64 KiB was ignored, so it grows from HTTP/2's 65535 to the
	// default 64 KiB only.
	p.WriteSettings()
	nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for {
		fr, err := p.Framer.ReadFrame()
		if err != nil {
			break
		}
		if wu, ok := fr.(*http2.WindowUpdateFrame); ok && wu.StreamID == 0 && wu.Increment != 1 {
			t.Fatalf("connection window grown by %d; the option below 64 KiB should be ignored", wu.Increment)
		}
	}
}

// TestClientTuningAnnounced: the client's window and header-list options
// are in the SETTINGS it sends, and calls still work.
func TestClientTuningAnnounced(t *testing.T) {
	leakcheck.Check(t)
	e := newEnv(t, envConfig{})
	seen := make(chan map[http2.SettingID]uint32, 1)
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		cnc, pnc := net.Pipe()
		real, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		// Read the client's preface and SETTINGS, then relay both ways.
		go func() {
			defer real.Close()
			defer pnc.Close()
			buf := make([]byte, len(http2.ClientPreface))
			if _, err := readFull(pnc, buf); err != nil {
				return
			}
			real.Write(buf)
			fr := http2.NewFramer(real, pnc)
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			sf := f.(*http2.SettingsFrame)
			seen <- settingsOf(sf)
			var ss []http2.Setting
			sf.ForeachSetting(func(s http2.Setting) error { ss = append(ss, s); return nil })
			fr.WriteSettings(ss...)
			go copyAll(pnc, real)
			copyAll(real, pnc)
		}()
		return cnc, nil
	}
	cc, err := stub.NewClient("passthrough:///"+e.addr, stub.WithTransportCredentials(insecure.NewCredentials()),
		stub.WithContextDialer(dialer), stub.WithInitialWindowSize(2<<20), stub.WithMaxHeaderListSize(20000))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if _, err := pb.NewEchoClient(cc).Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
		t.Fatal(err)
	}
	got := <-seen
	if got[http2.SettingInitialWindowSize] != 2<<20 || got[http2.SettingMaxHeaderListSize] != 20000 {
		t.Fatalf("client SETTINGS %v", got)
	}
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func copyAll(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
