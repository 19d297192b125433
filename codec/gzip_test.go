package codec

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"sync"
	"testing"
)

func TestCompressorRegistry(t *testing.T) {
	if GetCompressor("gzip") != Gzip || Gzip.Name() != "gzip" {
		t.Fatal("gzip not registered")
	}
	for _, name := range []string{"identity", "", "snappy", "GZIP"} {
		if c := GetCompressor(name); c != nil {
			t.Errorf("GetCompressor(%q) = %v, want nil", name, c)
		}
	}
	if got := CompressorNames(); !reflect.DeepEqual(got, []string{"gzip"}) {
		t.Fatalf("CompressorNames() = %q", got)
	}
	if AcceptEncoding() != "gzip" {
		t.Fatalf("AcceptEncoding() = %q", AcceptEncoding())
	}
	if n := testing.AllocsPerRun(100, func() { _ = AcceptEncoding() }); n != 0 {
		t.Fatalf("AcceptEncoding allocated %v times", n)
	}
	mustPanic(t, "RegisterCompressor(nil)", func() { RegisterCompressor(nil) })
	mustPanic(t, "RegisterCompressor without a name", func() { RegisterCompressor(namedCompressor("")) })
	mustPanic(t, "RegisterCompressor of identity", func() { RegisterCompressor(namedCompressor("identity")) })

	// Registering more keeps the names sorted and the lists consistent.
	RegisterCompressor(namedCompressor("zz-test"))
	RegisterCompressor(namedCompressor("aa-test"))
	names := CompressorNames()
	if !reflect.DeepEqual(names, []string{"aa-test", "gzip", "zz-test"}) || AcceptEncoding() != "aa-test,gzip,zz-test" {
		t.Fatalf("names %q, accept %q", names, AcceptEncoding())
	}
	names[0] = "changed"
	if CompressorNames()[0] != "aa-test" {
		t.Fatal("CompressorNames exposed its storage")
	}
}

type namedCompressor string

func (n namedCompressor) Name() string                           { return string(n) }
func (namedCompressor) Compress(dst, src []byte) ([]byte, error) { return append(dst, src...), nil }
func (namedCompressor) Decompress(dst, src []byte, _ int) ([]byte, error) {
	return append(dst, src...), nil
}

func stdGzip(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		// Mostly letters, so the data compresses a bit but not trivially.
		b[i] = byte('a' + r.IntN(20))
	}
	return b
}

func TestGzipRoundTrip(t *testing.T) {
	inputs := [][]byte{nil, {}, []byte("a"), randomBytes(1024, 1), randomBytes(100_000, 2), make([]byte, 1<<20)}
	for _, in := range inputs {
		c, err := Gzip.Compress([]byte("prefix"), in)
		if err != nil {
			t.Fatal(err)
		}
		if string(c[:6]) != "prefix" {
			t.Fatal("Compress did not append")
		}
		// Go's own reader decodes it.
		zr, err := gzip.NewReader(bytes.NewReader(c[6:]))
		if err != nil {
			t.Fatal(err)
		}
		std, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(std, in) {
			t.Fatalf("compress/gzip read %d bytes, %v; want %d", len(std), err, len(in))
		}
		for _, limit := range []int{-1, len(in), len(in) + 1, 1 << 30} {
			d, err := Gzip.Decompress([]byte("x"), c[6:], limit)
			if err != nil || string(d[:1]) != "x" || !bytes.Equal(d[1:], in) {
				t.Fatalf("Decompress(limit %d) of %d bytes: %d bytes, %v", limit, len(in), len(d)-1, err)
			}
		}
		// And we decode Go's writer.
		d, err := Gzip.Decompress(nil, stdGzip(t, in), -1)
		if err != nil || !bytes.Equal(d, in) {
			t.Fatalf("Decompress of compress/gzip output: %v", err)
		}
	}
}

func TestGzipLimit(t *testing.T) {
	in := randomBytes(10_000, 3)
	c := stdGzip(t, in)
	tests := []struct {
		limit   int
		wantErr error
	}{
		{-1, nil},
		{10_000, nil},
		{10_001, nil},
		{9_999, ErrTooLarge},
		{1, ErrTooLarge},
		{0, ErrTooLarge},
	}
	for _, tt := range tests {
		dst := []byte("keep")
		got, err := Gzip.Decompress(dst, c, tt.limit)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("limit %d: error %v, want %v", tt.limit, err, tt.wantErr)
			continue
		}
		if err != nil {
			if string(got) != "keep" {
				t.Errorf("limit %d: on error dst = %q, want it as given", tt.limit, got)
			}
		} else if !bytes.Equal(got[4:], in) {
			t.Errorf("limit %d: wrong output", tt.limit)
		}
	}
	// Empty output fits a zero limit.
	if d, err := Gzip.Decompress(nil, stdGzip(t, nil), 0); err != nil || len(d) != 0 {
		t.Fatalf("empty message with limit 0: %q, %v", d, err)
	}
}

func TestGzipMalformed(t *testing.T) {
	good := stdGzip(t, []byte("hello, hello, hello"))
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-8] ^= 0xff // CRC
	tests := map[string][]byte{
		"empty":         nil,
		"not gzip":      []byte("plain text, not gzip at all"),
		"truncated":     good[:len(good)-3],
		"bad checksum":  corrupt,
		"trailing junk": append(bytes.Clone(good), "junk"...),
		"header only":   good[:10],
	}
	for name, in := range tests {
		if _, err := Gzip.Decompress(nil, in, -1); err == nil {
			t.Errorf("%s: Decompress succeeded", name)
		}
	}
	// Concatenated members decode as one stream, as compress/gzip reads them.
	two := append(stdGzip(t, []byte("one ")), stdGzip(t, []byte("two"))...)
	if d, err := Gzip.Decompress(nil, two, -1); err != nil || string(d) != "one two" {
		t.Fatalf("two members: %q, %v", d, err)
	}
}

func TestGzipBomb(t *testing.T) {
	// 256 members of 1 MiB of zeros each, about 1 KiB compressed apiece,
	// decompress to 256 MiB as one stream. With a 1 MiB limit that must
	// cost about 1 MiB, not 256.
	member := stdGzip(t, make([]byte, 1<<20))
	bomb := bytes.Repeat(member, 256)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d, err := Gzip.Decompress(nil, bomb, 1<<20)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || len(d) != 0 {
		t.Fatalf("bomb: %d bytes, %v", len(d), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("decompressing the bomb allocated %d bytes", alloc)
	}
}

func TestGzipConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := randomBytes(5000+i, uint64(i))
			for range 50 {
				c, err := Gzip.Compress(nil, in)
				if err != nil {
					t.Error(err)
					return
				}
				d, err := Gzip.Decompress(nil, c, len(in))
				if err != nil || !bytes.Equal(d, in) {
					t.Errorf("round trip: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewGzip(t *testing.T) {
	for _, level := range []int{gzip.HuffmanOnly, gzip.NoCompression, gzip.BestSpeed, gzip.BestCompression} {
		c, err := NewGzip(level)
		if err != nil {
			t.Fatal(err)
		}
		in := randomBytes(3000, 9)
		z, err := c.Compress(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := Gzip.Decompress(nil, z, -1); err != nil || !bytes.Equal(d, in) {
			t.Fatalf("level %d: %v", level, err)
		}
	}
	if _, err := NewGzip(10); err == nil {
		t.Fatal("level 10 accepted")
	}
}

func BenchmarkGzipCompress1K(b *testing.B) {
	in := randomBytes(1024, 1)
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = Gzip.Compress(buf[:0], in)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGzipDecompress1K(b *testing.B) {
	in := randomBytes(1024, 1)
	c, _ := Gzip.Compress(nil, in)
	buf := make([]byte, 0, 2048)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = Gzip.Decompress(buf[:0], c, 4<<20)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzGzipDecompress(f *testing.F) {
	f.Add([]byte("hello"), 3)
	f.Add(stdGzip(f, []byte("hello, hello")), 12)
	f.Add(stdGzip(f, []byte("hello, hello")), 11)
	f.Add(stdGzip(f, make([]byte, 5000)), -1)
	f.Fuzz(func(t *testing.T, data []byte, limit int) {
		limit = limit % (1 << 20)
		if limit < -1 {
			limit = -1
		}
		// Arbitrary input: never panics, and the limit holds.
		out, err := Gzip.Decompress(nil, data, limit)
		if err == nil {
			if limit >= 0 && len(out) > limit {
				t.Fatalf("output %d bytes over limit %d", len(out), limit)
			}
			// compress/gzip agrees.
			if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
				std, err := io.ReadAll(io.LimitReader(zr, int64(len(out))+1))
				if err == nil && !bytes.Equal(std, out) {
					t.Fatalf("compress/gzip read %d bytes, we read %d", len(std), len(out))
				}
			}
		} else if errors.Is(err, ErrTooLarge) {
			// The stream really has more than limit bytes.
			zr, zerr := gzip.NewReader(bytes.NewReader(data))
			if zerr != nil {
				t.Fatalf("ErrTooLarge for input compress/gzip cannot open: %v", zerr)
			}
			n, _ := io.Copy(io.Discard, io.LimitReader(zr, int64(limit)+1))
			if n <= int64(limit) {
				t.Fatalf("ErrTooLarge with limit %d, but compress/gzip read only %d bytes", limit, n)
			}
		}

		// Our own output round-trips, exactly at its size as the limit.
		z, err := Gzip.Compress(nil, data)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Gzip.Decompress(nil, z, len(data))
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("round trip: %v", err)
		}
		if len(data) > 0 {
			if _, err := Gzip.Decompress(nil, z, len(data)-1); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("limit one below the size: %v", err)
			}
		}
	})
}
