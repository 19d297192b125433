package frame

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// sampleFrames is a run of frames of every type, some larger than a read
// chunk's first read would bring, written by our Append functions.
func sampleFrames() []byte {
	var b []byte
	b = AppendSettings(b, Setting{SettingInitialWindowSize, 1 << 20}, Setting{SettingMaxFrameSize, 1 << 20})
	b = AppendSettingsAck(b)
	b = AppendHeaders(b, 1, false, bytes.Repeat([]byte{0x82}, 40), 16)
	b = AppendData(b, 1, false, bytes.Repeat([]byte("d"), MinMaxFrameSize))
	b = AppendData(b, 1, true, nil)
	b = AppendPriority(b, 3, Priority{StreamDep: 1, Weight: 7})
	b = AppendRSTStream(b, 3, ErrCodeCancel)
	b = AppendPing(b, false, [8]byte{9})
	b = AppendWindowUpdate(b, 0, 1000)
	b = AppendHeader(b, 2, 0xfa, 0, 0)
	b = append(b, "zz"...)
	b = AppendGoAway(b, 3, ErrCodeNo, []byte("bye"))
	return b
}

// TestReaderSmallReads reads the same frames delivered whole and delivered
// in pieces of every awkward size; the frames must be the same.
func TestReaderSmallReads(t *testing.T) {
	b := sampleFrames()
	want, end := readAll(t, bytes.NewReader(b), 0)
	if end != accepted || len(want) != 13 {
		t.Fatalf("whole: %d frames, %s", len(want), end)
	}
	for name, r := range map[string]io.Reader{
		"OneByte":     iotest.OneByteReader(bytes.NewReader(b)),
		"Half":        iotest.HalfReader(bytes.NewReader(b)),
		"DataErr":     iotest.DataErrReader(bytes.NewReader(b)),
		"OneByteEOF":  iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(b))),
		"SevenBytes":  &chunkReader{b: b, n: 7},
		"TenBytes":    &chunkReader{b: b, n: 10},
		"FrameAndOne": &chunkReader{b: b, n: 9 + 18 + 1},
	} {
		t.Run(name, func(t *testing.T) {
			got, end := readAll(t, r, 0)
			if end != accepted {
				t.Fatalf("ended with %s", end)
			}
			if len(got) != len(want) {
				t.Fatalf("%d frames, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("frame %d:\n got %s\nwant %s", i, got[i], want[i])
				}
			}
		})
	}
}

// chunkReader returns at most n bytes per read.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// TestReaderResumesAfterTimeout: a read error in the middle of a frame is
// returned, and the next ReadFrame goes on from the same place.
func TestReaderResumesAfterTimeout(t *testing.T) {
	b := sampleFrames()
	want, _ := readAll(t, bytes.NewReader(b), 0)
	for _, split := range []int{1, 5, 9, 12, 30} {
		// The first read brings split bytes, the second times out; frames
		// complete within the first read come out before the timeout.
		r := NewReader(iotest.TimeoutReader(io.MultiReader(bytes.NewReader(b[:split]), bytes.NewReader(b[split:]))))
		var got []string
		timeouts := 0
		for len(got) < len(want) && timeouts < 2 {
			f, err := r.ReadFrame()
			if errors.Is(err, iotest.ErrTimeout) {
				timeouts++
				continue
			}
			if err != nil {
				t.Fatalf("split %d, frame %d: %v", split, len(got), err)
			}
			got = append(got, describe(f))
		}
		if timeouts != 1 {
			t.Fatalf("split %d: %d timeouts, want 1", split, timeouts)
		}
		for i, w := range want {
			if got[i] != w {
				t.Fatalf("split %d, frame %d:\n got %s\nwant %s", split, i, got[i], w)
			}
		}
		r.Close()
	}
}

func TestReaderEOF(t *testing.T) {
	ping := AppendPing(nil, false, [8]byte{})
	for _, c := range []struct {
		name string
		r    io.Reader
		want error
	}{
		{"Clean", bytes.NewReader(nil), io.EOF},
		{"CleanAfterFrame", bytes.NewReader(ping), io.EOF},
		{"InHeaderWhenIdle", bytes.NewReader(ping[:4]), io.ErrUnexpectedEOF},
		{"InPayloadWhenIdle", bytes.NewReader(ping[:12]), io.ErrUnexpectedEOF},
		{"InPayloadOneByte", iotest.OneByteReader(bytes.NewReader(ping[:16])), io.ErrUnexpectedEOF},
		{"InHeaderBuffered", bytes.NewReader(append(bytes.Clone(ping), ping[:5]...)), io.ErrUnexpectedEOF},
		{"InPayloadBuffered", bytes.NewReader(append(bytes.Clone(ping), ping[:10]...)), io.ErrUnexpectedEOF},
		{"OtherError", io.MultiReader(bytes.NewReader(ping[:3]), iotest.ErrReader(errBroken)), errBroken},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(c.r)
			var err error
			for err == nil {
				_, err = r.ReadFrame()
			}
			if err != c.want {
				t.Fatalf("%v, want %v", err, c.want)
			}
		})
	}
}

var errBroken = errors.New("broken connection")

func TestReaderPreface(t *testing.T) {
	good := append([]byte(ClientPreface), AppendSettings(nil)...)
	for _, c := range []struct {
		name string
		r    io.Reader
		want error
	}{
		{"Good", bytes.NewReader(good), nil},
		{"GoodOneByte", iotest.OneByteReader(bytes.NewReader(good)), nil},
		{"HTTP1", bytes.NewReader([]byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")), ErrBadPreface},
		{"AlmostGood", bytes.NewReader([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r")), ErrBadPreface},
		{"Short", bytes.NewReader([]byte("PRI * HTTP/2.0\r\n")), ErrBadPreface},
		{"ShortOfHeader", bytes.NewReader([]byte("PRI")), ErrBadPreface},
		{"Empty", bytes.NewReader(nil), ErrBadPreface},
		{"Broken", iotest.ErrReader(errBroken), errBroken},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewReader(c.r)
			defer r.Close()
			if err := r.ReadPreface(); err != c.want {
				t.Fatalf("ReadPreface: %v, want %v", err, c.want)
			}
			if c.want != nil {
				return
			}
			if f, err := r.ReadFrame(); err != nil || f.Type != TypeSettings {
				t.Fatalf("after the preface: %v, %v", f, err)
			}
		})
	}
}

// idleProbe is a connection that, once its bytes are all delivered,
// records whether the Reader holds a buffer when it asks for more: the
// Reader must be idle then.
type idleProbe struct {
	r         *Reader
	data      []byte
	calls     int
	heldAtEnd []bool
}

func (p *idleProbe) Read(b []byte) (int, error) {
	p.calls++
	if len(p.data) == 0 {
		p.heldAtEnd = append(p.heldAtEnd, p.r.buf != nil) // the inline buffer is part of the Reader
		return 0, io.EOF
	}
	n := copy(b, p.data)
	p.data = p.data[n:]
	return n, nil
}

// TestReaderHoldsNoBufferWhenIdle: the buffer a read takes from the pool
// goes back once every frame in it has been consumed, before the Reader
// waits for more bytes; while frames remain buffered, it is kept.
func TestReaderHoldsNoBufferWhenIdle(t *testing.T) {
	var two []byte
	two = AppendPing(two, false, [8]byte{1})
	two = AppendData(two, 1, false, []byte("hello"))
	p := &idleProbe{data: two}
	p.r = NewReader(p)
	if p.r.buf != nil {
		t.Fatal("new Reader holds a buffer")
	}
	f, err := p.r.ReadFrame()
	if err != nil || f.Type != TypePing {
		t.Fatalf("%v, %v", f, err)
	}
	if p.r.cur == nil || p.r.Buffered() != len(two)-17 {
		t.Fatalf("with a frame still buffered: held %v, Buffered %d", p.r.cur != nil, p.r.Buffered())
	}
	f, err = p.r.ReadFrame()
	if err != nil || f.Type != TypeData || string(f.Data) != "hello" {
		t.Fatalf("%v, %v", f, err)
	}
	if p.r.Buffered() != 0 {
		t.Fatalf("Buffered %d after the last frame", p.r.Buffered())
	}
	if _, err := p.r.ReadFrame(); err != io.EOF {
		t.Fatalf("%v, want EOF", err)
	}
	if len(p.heldAtEnd) != 1 || p.heldAtEnd[0] {
		t.Fatalf("Reader waited for more bytes holding a buffer: %v", p.heldAtEnd)
	}
	if p.r.buf != nil {
		t.Fatal("buffer held after EOF")
	}
}

func TestReaderCloseReleases(t *testing.T) {
	b := append(AppendPing(nil, false, [8]byte{}), AppendPing(nil, true, [8]byte{})...)
	r := NewReader(bytes.NewReader(b))
	if _, err := r.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	if r.cur == nil {
		t.Fatal("no buffer while a frame is buffered")
	}
	r.Close()
	if r.buf != nil || r.cur != nil || r.Buffered() != 0 {
		t.Fatal("Close kept the buffer")
	}
}

// TestReaderLargeFrame: a frame larger than the pooled read chunk grows the
// buffer, keeping the bytes already read.
func TestReaderLargeFrame(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), (3*readChunk)/16)
	var b []byte
	b = AppendPing(b, false, [8]byte{})
	b = AppendData(b, 1, false, big)
	b = AppendPing(b, true, [8]byte{})
	for _, r := range []io.Reader{bytes.NewReader(b), &chunkReader{b: b, n: 1000}} {
		fr := NewReader(r)
		fr.SetMaxFrameSize(MaxMaxFrameSize)
		for i, want := range []Type{TypePing, TypeData, TypePing} {
			f, err := fr.ReadFrame()
			if err != nil || f.Type != want {
				t.Fatalf("frame %d: %v, %v", i, f, err)
			}
			if want == TypeData && !bytes.Equal(f.Data, big) {
				t.Fatal("large DATA payload corrupted")
			}
		}
		fr.Close()
	}
}
