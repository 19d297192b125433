package hpack

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// literal returns a literal field without indexing and with a new name
// (RFC 7541 §6.2.2), strings not Huffman coded; n values below 127 only.
func literal(name, value string, indexing bool) []byte {
	first := byte(0x00)
	if indexing {
		first = 0x40
	}
	b := []byte{first}
	b = appendRawString(b, name)
	return appendRawString(b, value)
}

// appendRawString appends an HPACK string without Huffman coding (§5.2).
func appendRawString(b []byte, s string) []byte {
	n := uint64(len(s))
	if n < 127 {
		b = append(b, byte(n))
	} else {
		b = append(b, 127)
		n -= 127
		for n >= 128 {
			b = append(b, byte(n)|0x80)
			n >>= 7
		}
		b = append(b, byte(n))
	}
	return append(b, s...)
}

// TestRFC9113_6_5_2_HeaderListSize: a list whose size passes the limit fails
// with ErrHeaderListTooLarge at End, after the whole block was decoded, and
// the decoder's table is still in step with the peer's.
func TestRFC9113_6_5_2_HeaderListSize(t *testing.T) {
	e := NewEncoder()
	d := NewDecoder(4096, 200)
	small := []HeaderField{hf("a", strings.Repeat("x", 100))} // 133
	mustDecode(t, d, e.AppendBlock(nil, small), small)

	// 133 + 133 > 200; the third field is new and indexed by the encoder
	// after the limit was passed, so the decoder must still add it.
	big := []HeaderField{hf("a", strings.Repeat("x", 100)), hf("b", strings.Repeat("y", 100)), hf("c", "z")}
	if got, err := decodeBlock(d, e.AppendBlock(nil, big)); !errors.Is(err, ErrHeaderListTooLarge) || got != nil {
		t.Fatalf("got %v, %v; want ErrHeaderListTooLarge and no fields", got, err)
	}
	// The decoder goes on; the next block refers to the entries added above.
	next := []HeaderField{hf("c", "z"), hf("b", strings.Repeat("y", 100))}
	block := e.AppendBlock(nil, next)
	if len(block) != 2 {
		t.Fatalf("encoder did not index both fields: %x", block)
	}
	mustDecode(t, d, block, next)

	// Exactly at the limit is fine: 1+135+32 = 168, +32 for an empty field = 200.
	exact := []HeaderField{hf("d", strings.Repeat("w", 135)), hf("", "")}
	d2 := NewDecoder(4096, 200)
	mustDecode(t, d2, append(literal("d", strings.Repeat("w", 135), false), literal("", "", false)...), exact)
	if HeaderListSize(exact) != 200 {
		t.Fatalf("HeaderListSize = %d, want 200", HeaderListSize(exact))
	}
}

// TestRFC9113_6_5_2_LongStringRejectedEarly: a single string longer than the
// limit is refused on its length prefix, before its octets arrive, as a
// compression error (it cannot be skipped without losing table sync).
func TestRFC9113_6_5_2_LongStringRejectedEarly(t *testing.T) {
	d := NewDecoder(4096, 1000)
	d.Begin(nil)
	hdr := appendRawString([]byte{0x40, 0x01, 'a'}, strings.Repeat("v", 1001))[:6] // length prefix only
	err := d.Write(hdr)
	if !errors.Is(err, ErrCompression) {
		t.Fatalf("got %v, want ErrCompression", err)
	}
}

// TestDecodeFragmentsAnywhere: a block split at every possible point, and one
// octet at a time, decodes the same.
func TestDecodeFragmentsAnywhere(t *testing.T) {
	block := unhex(t, rfcC4[0])
	for cut := 0; cut <= len(block); cut++ {
		d := NewDecoder(4096, 0)
		d.Begin(nil)
		if err := d.Write(block[:cut]); err != nil {
			t.Fatal(err)
		}
		if err := d.Write(block[cut:]); err != nil {
			t.Fatal(err)
		}
		got, err := d.End()
		if err != nil || !slices.Equal(got, rfcRequests[0]) {
			t.Fatalf("cut %d: got %v, %v", cut, got, err)
		}
	}
	d := NewDecoder(4096, 0)
	for i, b := range rfcC5 {
		block := unhex(t, b)
		d.Begin(nil)
		for j := range block {
			if err := d.Write(block[j : j+1]); err != nil {
				t.Fatal(err)
			}
		}
		got, err := d.End()
		if err != nil || !slices.Equal(got, rfcResponses[i]) {
			t.Fatalf("C.5.%d byte by byte: got %v, %v", i+1, got, err)
		}
	}
}

// heapAfter runs f and returns how much the live heap grew, after GC.
func heapGrowth(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// TestRFC9113_6_10_ContinuationFlood: 100,000 fragments, fully indexed,
// empty, or long literals (each within the limit, together past it) octet
// by octet, end in ErrBlockTooLarge long
// before the last, and the decoder holds little memory meanwhile.
func TestRFC9113_6_10_ContinuationFlood(t *testing.T) {
	const n = 100000
	longString := literal("a", strings.Repeat("v", 16000), false)
	floods := map[string]func(i int) []byte{
		"indexed": func(int) []byte { return []byte{0x82} },
		"empty":   func(int) []byte { return nil },
		"string":  func(i int) []byte { return longString[i%len(longString) : i%len(longString)+1] },
	}
	for name, frag := range floods {
		t.Run(name, func(t *testing.T) {
			var d *Decoder
			var err error
			var at int
			growth := heapGrowth(func() {
				d = NewDecoder(4096, 16<<10)
				d.Begin(make([]HeaderField, 0, 16))
				for at = 0; at < n; at++ {
					if err = d.Write(frag(at)); err != nil {
						break
					}
				}
			})
			if !errors.Is(err, ErrBlockTooLarge) {
				t.Fatalf("after %d fragments: got %v, want ErrBlockTooLarge", at, err)
			}
			if at >= n {
				t.Fatalf("not stopped before the last fragment")
			}
			if growth > 256<<10 {
				t.Fatalf("heap grew by %d bytes", growth)
			}
			if err := d.Write([]byte{0x82}); !errors.Is(err, ErrBlockTooLarge) {
				t.Fatalf("decoder usable after the flood: %v", err)
			}
			runtime.KeepAlive(d)
		})
	}
}

// TestBlockCapWithDefaultLimit: with the default 1 MiB list limit the byte
// cap is 4 MiB, and MaxFragments stops a flood of small fragments first.
func TestBlockCapWithDefaultLimit(t *testing.T) {
	d := NewDecoder(4096, 0)
	if d.MaxHeaderListSize() != DefaultMaxHeaderListSize || d.BlockCap() != 4*DefaultMaxHeaderListSize {
		t.Fatalf("limit %d, cap %d", d.MaxHeaderListSize(), d.BlockCap())
	}
	d.Begin(nil)
	for i := 1; i <= MaxFragments+1; i++ {
		err := d.Write([]byte{0x82})
		if i <= MaxFragments && err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		if i > MaxFragments && !errors.Is(err, ErrBlockTooLarge) {
			t.Fatalf("fragment %d: got %v, want ErrBlockTooLarge", i, err)
		}
	}
}
