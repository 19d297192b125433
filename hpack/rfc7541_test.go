package hpack

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// RFC 7541 Appendix C.3 and C.4: three requests on one connection.
var rfcRequests = [][]HeaderField{
	{hf(":method", "GET"), hf(":scheme", "http"), hf(":path", "/"), hf(":authority", "www.example.com")},
	{hf(":method", "GET"), hf(":scheme", "http"), hf(":path", "/"), hf(":authority", "www.example.com"), hf("cache-control", "no-cache")},
	{hf(":method", "GET"), hf(":scheme", "https"), hf(":path", "/index.html"), hf(":authority", "www.example.com"), hf("custom-key", "custom-value")},
}

// RFC 7541 Appendix C.5 and C.6: three responses, table size 256.
var rfcResponses = [][]HeaderField{
	{hf(":status", "302"), hf("cache-control", "private"), hf("date", "Mon, 21 Oct 2013 20:13:21 GMT"), hf("location", "https://www.example.com")},
	{hf(":status", "307"), hf("cache-control", "private"), hf("date", "Mon, 21 Oct 2013 20:13:21 GMT"), hf("location", "https://www.example.com")},
	{hf(":status", "200"), hf("cache-control", "private"), hf("date", "Mon, 21 Oct 2013 20:13:22 GMT"), hf("location", "https://www.example.com"),
		hf("content-encoding", "gzip"), hf("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")},
}

var (
	rfcC3 = []string{
		"8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
		"8286 84be 5808 6e6f 2d63 6163 6865",
		"8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
	}
	rfcC4 = []string{
		"8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
		"8286 84be 5886 a8eb 1064 9cbf",
		"8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
	}
	rfcC5 = []string{
		`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
		 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
		 6c65 2e63 6f6d`,
		"4803 3330 37c1 c0bf",
		`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
		 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
		 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
		 3d31`,
	}
	rfcC6 = []string{
		`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
		 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
		"4883 640e ffc1 c0bf",
		`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
		 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
		 9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
	}
)

// decodeSeries decodes consecutive blocks on one connection's decoder.
func decodeSeries(t *testing.T, tableSize uint32, blocks []string, want [][]HeaderField) {
	t.Helper()
	d := NewDecoder(tableSize, 0)
	for i, b := range blocks {
		mustDecode(t, d, unhex(t, b), want[i])
	}
}

// TestRFC7541_C2 decodes the single representations of Appendix C.2.
func TestRFC7541_C2(t *testing.T) {
	tests := []struct {
		name  string
		block string
		want  HeaderField
	}{
		{"C.2.1 literal with indexing", "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", hf("custom-key", "custom-header")},
		{"C.2.2 literal without indexing", "040c 2f73 616d 706c 652f 7061 7468", hf(":path", "/sample/path")},
		{"C.2.3 literal never indexed", "1008 7061 7373 776f 7264 0673 6563 7265 74", HeaderField{Name: "password", Value: "secret", Sensitive: true}},
		{"C.2.4 indexed", "82", hf(":method", "GET")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustDecode(t, NewDecoder(4096, 0), unhex(t, tt.block), []HeaderField{tt.want})
		})
	}
}

// TestRFC7541_C2_Encode checks that the encoder produces the C.2 bytes for
// the representations it chooses: it indexes custom-key (C.2.1), never
// indexes a sensitive field (C.2.3) and uses the static index (C.2.4). The
// C.2.1 and C.2.3 strings are not Huffman coded in the RFC, while x/net
// codes them when that is shorter, so those are checked by round trip.
func TestRFC7541_C2_Encode(t *testing.T) {
	e := NewEncoder()
	if got := e.AppendField(nil, ":method", "GET", false); !bytes.Equal(got, []byte{0x82}) {
		t.Errorf("C.2.4: got %x, want 82", got)
	}
	d := NewDecoder(4096, 0)
	for _, f := range []HeaderField{hf("custom-key", "custom-header"), {Name: "password", Value: "secret", Sensitive: true}} {
		block := e.AppendField(nil, f.Name, f.Value, f.Sensitive)
		wantFirst := byte(0x40) // literal with incremental indexing, new name
		if f.Sensitive {
			wantFirst = 0x10 // literal never indexed, new name
		}
		if block[0] != wantFirst {
			t.Errorf("%s: first byte %#x, want %#x", f.Name, block[0], wantFirst)
		}
		mustDecode(t, d, block, []HeaderField{f})
	}
}

func TestRFC7541_C3_RequestsWithoutHuffman(t *testing.T) {
	decodeSeries(t, 4096, rfcC3, rfcRequests)
}

func TestRFC7541_C4_RequestsWithHuffman(t *testing.T) {
	decodeSeries(t, 4096, rfcC4, rfcRequests)
}

func TestRFC7541_C5_ResponsesWithoutHuffman(t *testing.T) {
	decodeSeries(t, 256, rfcC5, rfcResponses)
}

func TestRFC7541_C6_ResponsesWithHuffman(t *testing.T) {
	decodeSeries(t, 256, rfcC6, rfcResponses)
}

// TestRFC7541_C4_Encode: the encoder reproduces C.4 byte for byte. x/net
// Huffman-codes every string that gets shorter, which is all of them here,
// so encoding the lists of C.3 gives the bytes of C.4, not of C.3.
func TestRFC7541_C4_Encode(t *testing.T) {
	e := NewEncoder()
	d := NewDecoder(4096, 0)
	for i, fields := range rfcRequests {
		got := e.AppendBlock(nil, fields)
		if want := unhex(t, rfcC4[i]); !bytes.Equal(got, want) {
			t.Fatalf("C.4.%d: got %x, want %x", i+1, got, want)
		}
		mustDecode(t, d, got, fields)
	}
}

// TestRFC7541_C6_Encode: C.5 and C.6 assume both ends already use a 256-byte
// table. Our encoder starts at the HTTP/2 default of 4096 and, told the
// peer's limit of 256, must say so with a dynamic table size update (3fe101,
// §6.3) at the start of the first block. The rest differs from C.6 in one
// legitimate choice: for a :status value not in the static table the RFC
// names the field by index 8 (":status: 200"), x/net by index 14 (":status:
// 500"), the last static entry with that name; both decode the same. And
// "307" takes 3 octets either way, so x/net leaves it raw where C.6 codes it
// (C.6.2 then matches C.5.2 but for the name index). All else is C.6's bytes.
func TestRFC7541_C6_Encode(t *testing.T) {
	e := NewEncoder()
	e.SetMaxDynamicTableSizeLimit(256)
	d := NewDecoder(4096, 0)
	for i, fields := range rfcResponses {
		got := e.AppendBlock(nil, fields)
		want := unhex(t, rfcC6[i])
		if i == 1 {
			want = unhex(t, rfcC5[i])
		}
		if i < 2 {
			want[0] = 0x4e // literal with indexing, name index 14
		}
		if i == 0 {
			want = append([]byte{0x3f, 0xe1, 0x01}, want...)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("C.6.%d: got %x, want %x", i+1, got, want)
		}
		mustDecode(t, d, got, fields)
	}
}

// TestRFC7541_4_2_TableSizeUpdateEncoder: a reduced peer limit is signalled
// once, at the start of the next block; shrinking then growing again between
// two blocks signals the smallest size first, then the final one.
func TestRFC7541_4_2_TableSizeUpdateEncoder(t *testing.T) {
	e := NewEncoder()
	d := NewDecoder(4096, 0)
	// Fill the table.
	mustDecode(t, d, e.AppendBlock(nil, grpcRequest), grpcRequest)

	e.SetMaxDynamicTableSizeLimit(100)
	d.SetAllowedMaxDynamicTableSize(100)
	block := e.AppendBlock(nil, grpcRequest)
	if want := []byte{0x3f, 0x45}; !bytes.HasPrefix(block, want) { // 001 11111, 100-31=69
		t.Fatalf("block %x does not start with the update to 100 (%x)", block, want)
	}
	mustDecode(t, d, block, grpcRequest)
	if block := e.AppendBlock(nil, grpcRequest); block[0]&0xe0 == 0x20 {
		t.Fatalf("second block %x repeats the update", block)
	}

	e.SetMaxDynamicTableSizeLimit(0)
	e.SetMaxDynamicTableSizeLimit(8192) // capped at MaxEncoderTableSize
	d.SetAllowedMaxDynamicTableSize(0)
	d.SetAllowedMaxDynamicTableSize(4096)
	block = e.AppendBlock(nil, grpcRequest)
	if want := []byte{0x20, 0x3f, 0xe1, 0x1f}; !bytes.HasPrefix(block, want) { // 0, then 4096
		t.Fatalf("block %x does not start with updates to 0 then 4096 (%x)", block, want)
	}
	mustDecode(t, d, block, grpcRequest)
	if got := e.MaxDynamicTableSize(); got != 4096 {
		t.Fatalf("encoder table size %d, want 4096", got)
	}
}

// TestRFC7541_4_2_TableSizeUpdateAfterField: an update after a field is a
// decoding error, even with an empty table (x/net alone accepts that).
func TestRFC7541_4_2_TableSizeUpdateAfterField(t *testing.T) {
	for _, block := range []string{"82 20", "82 3fe11f", "040c 2f73 616d 706c 652f 7061 7468 20"} {
		_, err := decodeBlock(NewDecoder(4096, 0), unhex(t, block))
		if !errors.Is(err, ErrCompression) {
			t.Errorf("%s: got %v, want ErrCompression", block, err)
		}
	}
}

// TestRFC7541_4_2_TwoUpdatesAtStart: two updates may start a block, the
// second after the table already shrank with entries still in it.
func TestRFC7541_4_2_TwoUpdatesAtStart(t *testing.T) {
	d := NewDecoder(4096, 0)
	mustDecode(t, d, unhex(t, rfcC3[0]), rfcRequests[0]) // one entry, 57 bytes
	mustDecode(t, d, unhex(t, "3f45 3fe11f be"), []HeaderField{hf(":authority", "www.example.com")})
	// An update to 0 evicts it: index 62 is then invalid.
	if _, err := decodeBlock(d, unhex(t, "20 3fe11f be")); !errors.Is(err, ErrCompression) {
		t.Fatalf("index into the evicted entry: got %v, want ErrCompression", err)
	}
}

// TestRFC7541_4_2_RequiredUpdate: once our SETTINGS_HEADER_TABLE_SIZE is
// reduced below the peer's table size, the next block must begin with an
// update.
func TestRFC7541_4_2_RequiredUpdate(t *testing.T) {
	d := NewDecoder(4096, 0)
	d.SetAllowedMaxDynamicTableSize(1024)
	if _, err := decodeBlock(d, []byte{0x82}); !errors.Is(err, ErrCompression) {
		t.Fatalf("block without the update: got %v, want ErrCompression", err)
	}

	d = NewDecoder(4096, 0)
	d.SetAllowedMaxDynamicTableSize(1024)
	if _, err := decodeBlock(d, nil); !errors.Is(err, ErrCompression) {
		t.Fatalf("empty block without the update: got %v, want ErrCompression", err)
	}

	d = NewDecoder(4096, 0)
	d.SetAllowedMaxDynamicTableSize(1024)
	mustDecode(t, d, unhex(t, "3fe107 82"), []HeaderField{hf(":method", "GET")}) // 1024 = 31 + 993
	mustDecode(t, d, []byte{0x82}, []HeaderField{hf(":method", "GET")})          // no longer required

	// Raising the limit requires nothing.
	d.SetAllowedMaxDynamicTableSize(8192)
	mustDecode(t, d, []byte{0x82}, []HeaderField{hf(":method", "GET")})
}

// TestRFC7541_6_3_UpdateAboveLimit: an update above our
// SETTINGS_HEADER_TABLE_SIZE is a decoding error.
func TestRFC7541_6_3_UpdateAboveLimit(t *testing.T) {
	d := NewDecoder(4096, 0)
	if _, err := decodeBlock(d, unhex(t, "3fe21f 82")); !errors.Is(err, ErrCompression) { // 4097
		t.Fatalf("update to 4097: got %v, want ErrCompression", err)
	}
	// The decoder is dead after a compression error.
	if _, err := decodeBlock(d, []byte{0x82}); !errors.Is(err, ErrCompression) {
		t.Fatalf("after the error: got %v, want ErrCompression", err)
	}
	d = NewDecoder(4096, 0)
	mustDecode(t, d, unhex(t, "3fe11f 82"), []HeaderField{hf(":method", "GET")}) // exactly 4096
}

// TestRFC7541_6_3_UpdateSplitAcrossFragments: the update's integer may be
// split between HEADERS and CONTINUATION.
func TestRFC7541_6_3_UpdateSplitAcrossFragments(t *testing.T) {
	d := NewDecoder(4096, 0)
	mustDecode(t, d, unhex(t, rfcC3[0]), rfcRequests[0])
	d.SetAllowedMaxDynamicTableSize(1024)
	d.Begin(nil)
	for _, frag := range [][]byte{{0x3f}, {0xe1}, {0x07}, {0x20}, {0x82}} { // 1024, then 0
		if err := d.Write(frag); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.End()
	if err != nil || !slices.Equal(got, []HeaderField{hf(":method", "GET")}) {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := decodeBlock(d, []byte{0xbe}); !errors.Is(err, ErrCompression) {
		t.Fatalf("index 62 after the table was emptied: got %v, want ErrCompression", err)
	}
}

// TestRFC7541_Errors: representations the decoder must refuse.
func TestRFC7541_Errors(t *testing.T) {
	tests := []struct{ name, block string }{
		{"6.1 index 0", "80"},
		{"2.3.3 index past the static table", "be"},
		{"2.3.3 literal name index past the tables", "7f00 0161"},
		{"5.1 integer overflow", "ff ffffffffffffffffff01"},
		{"5.1 integer above 32 bits", "ff 8080808080 01"},
		{"5.2 Huffman padding longer than 7 bits", "0085 f2b2 4a84 ff84 4985 7e"},
		{"5.2 Huffman EOS", "0081 ff 00"},
		{"truncated string", "0005 6162"},
		{"truncated integer", "ff"},
		{"incomplete literal name", "00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeBlock(NewDecoder(4096, 0), unhex(t, tt.block))
			if !errors.Is(err, ErrCompression) {
				t.Fatalf("got %v, want ErrCompression", err)
			}
		})
	}
}

// TestAbandonedBlock: a block dropped between fields leaves the decoder
// usable; one dropped inside a field does not.
func TestAbandonedBlock(t *testing.T) {
	d := NewDecoder(4096, 0)
	d.Begin(nil)
	if err := d.Write([]byte{0x82}); err != nil {
		t.Fatal(err)
	}
	mustDecode(t, d, []byte{0x86}, []HeaderField{hf(":scheme", "http")})

	d.Begin(nil)
	if err := d.Write([]byte{0x40, 0x01}); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeBlock(d, []byte{0x82}); !errors.Is(err, ErrCompression) {
		t.Fatalf("got %v, want ErrCompression", err)
	}
}
