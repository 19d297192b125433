package frame

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"golang.org/x/net/http2"
)

// A unary gRPC call as the client's reader sees it: response HEADERS, one
// DATA message, trailers HEADERS with END_STREAM; then the connection-level
// WINDOW_UPDATE and a PING of the kind BDP estimation sends.
var (
	benchHeaders  = bytes.Repeat([]byte{0x88, 0x5f, 0x8b}, 10) // 30 bytes of header block
	benchMessage  = bytes.Repeat([]byte{0x00, 0x01, 0x02, 0x03}, 32)
	benchTrailers = bytes.Repeat([]byte{0x40, 0x8b}, 8)
)

const benchCalls = 64 // calls per batch of frames

func appendCall(b []byte, stream uint32) []byte {
	b = AppendHeaders(b, stream, false, benchHeaders, MinMaxFrameSize)
	b = AppendData(b, stream, false, benchMessage)
	b = AppendHeaders(b, stream, true, benchTrailers, MinMaxFrameSize)
	b = AppendWindowUpdate(b, 0, uint32(len(benchMessage)))
	return AppendPing(b, false, BDPPingData)
}

func writeCallXNet(fr *http2.Framer, stream uint32) error {
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: benchHeaders, EndHeaders: true}); err != nil {
		return err
	}
	if err := fr.WriteData(stream, false, benchMessage); err != nil {
		return err
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: benchTrailers, EndStream: true, EndHeaders: true}); err != nil {
		return err
	}
	if err := fr.WriteWindowUpdate(0, uint32(len(benchMessage))); err != nil {
		return err
	}
	return fr.WritePing(false, BDPPingData)
}

const framesPerCall = 5

func reportFrames(b *testing.B, frames int) {
	b.ReportMetric(float64(frames)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func BenchmarkParseFrames(b *testing.B) {
	var wire []byte
	for i := range benchCalls {
		wire = appendCall(wire, uint32(2*i+1))
	}
	const frames = benchCalls * framesPerCall
	br := bytes.NewReader(wire)
	b.Run("h2rpc", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(wire)))
		r := NewReader(br)
		for b.Loop() {
			br.Reset(wire)
			n := readFrames(b, func() error { _, err := r.ReadFrame(); return err })
			if n != frames {
				b.Fatalf("%d frames", n)
			}
		}
		reportFrames(b, frames)
	})
	b.Run("xnet", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(wire)))
		fr := http2.NewFramer(nil, br)
		fr.SetReuseFrames()
		for b.Loop() {
			br.Reset(wire)
			n := readFrames(b, func() error { _, err := fr.ReadFrame(); return err })
			if n != frames {
				b.Fatalf("%d frames", n)
			}
		}
		reportFrames(b, frames)
	})
}

// readFrames calls read until io.EOF and returns how many frames it read.
func readFrames(b *testing.B, read func() error) int {
	for n := 0; ; n++ {
		switch err := read(); err {
		case nil:
		case io.EOF:
			return n
		default:
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFrames writes the same calls, each flushed when complete:
// through our Writer, and through x/net's Framer over a bufio.Writer (as
// x/net's own transports use it).
func BenchmarkWriteFrames(b *testing.B) {
	size := len(appendCall(nil, 1))
	const frames = benchCalls * framesPerCall
	b.Run("h2rpc", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size * benchCalls))
		w := NewWriter(io.Discard)
		for b.Loop() {
			for i := range benchCalls {
				if err := w.Finish(appendCall(w.Start(), uint32(2*i+1)), Flush); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportFrames(b, frames)
	})
	b.Run("xnet", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(size * benchCalls))
		bw := bufio.NewWriterSize(io.Discard, 4<<10)
		fr := http2.NewFramer(bw, nil)
		for b.Loop() {
			for i := range benchCalls {
				if err := writeCallXNet(fr, uint32(2*i+1)); err != nil {
					b.Fatal(err)
				}
				if err := bw.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportFrames(b, frames)
	})
}

// TestBenchmarkFramesAgree: both sides of each benchmark handle the same
// bytes.
func TestBenchmarkFramesAgree(t *testing.T) {
	want := appendCall(nil, 7)
	if got := xnetBytes(t, func(fr *http2.Framer) error { return writeCallXNet(fr, 7) }); !bytes.Equal(got, want) {
		t.Fatalf("x/net writes\n% x\nwe append\n% x", got, want)
	}
}
