package torture

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	xhpack "golang.org/x/net/http2/hpack"
	"google.golang.org/protobuf/proto"

	"github.com/h2rpc/h2rpc/hpack"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
)

// TestHPACKIntC1 checks integer encoding against RFC 7541 Appendix C.1.
func TestHPACKIntC1(t *testing.T) {
	for _, c := range []struct {
		n    uint
		v    uint64
		want []byte
	}{
		{5, 10, []byte{0x0a}},               // C.1.1
		{5, 1337, []byte{0x1f, 0x9a, 0x0a}}, // C.1.2
		{8, 42, []byte{0x2a}},               // C.1.3
	} {
		if got := appendHPACKInt(nil, 0, c.n, c.v); !bytes.Equal(got, c.want) {
			t.Errorf("%d with a %d-bit prefix: %x, want %x", c.v, c.n, got, c.want)
		}
	}
}

// decodeAll decodes blocks in order with one x/net decoder of the given
// table size, as a server would.
func decodeAll(t *testing.T, tableSize uint32, blocks ...[]byte) [][]xhpack.HeaderField {
	t.Helper()
	d := xhpack.NewDecoder(tableSize, nil)
	var out [][]xhpack.HeaderField
	for i, b := range blocks {
		f, err := d.DecodeFull(b)
		if err != nil {
			t.Fatalf("block %d: %v", i, err)
		}
		out = append(out, f)
	}
	return out
}

func TestLiteralBlockLeavesTheTableAlone(t *testing.T) {
	fields := requestFields("http", "example:50051", "/grpc.testing.TestService/EmptyCall")
	b := literalBlock(fields)
	got := decodeAll(t, 4096, b, b)
	for i, g := range got {
		if !slices.Equal(g, fields) {
			t.Errorf("block %d decodes to %v, want %v", i, g, fields)
		}
	}
}

// TestBombBlock checks that each reference decodes to the entry, which
// fills the whole table.
func TestBombBlock(t *testing.T) {
	fields := requestFields("https", "example:443", "/grpc.testing.TestService/EmptyCall")
	req := literalBlock(fields)
	name, value, ok := bombEntry(4096)
	if !ok {
		t.Fatal("no entry for a 4096-byte table")
	}
	if size := len(name) + len(value) + 32; size != 4096 {
		t.Errorf("entry of %d bytes, want the table's 4096", size)
	}
	first := appendLiteral(slices.Clone(req), true, name, value)
	const refs = 100
	got := decodeAll(t, 4096, first, bombBlock(req, refs))
	want := append(slices.Clone(fields), xhpack.HeaderField{Name: name, Value: value})
	if !slices.Equal(got[0], want) {
		t.Errorf("first block decodes to %d fields, want the request and the entry", len(got[0]))
	}
	if len(got[1]) != len(fields)+refs {
		t.Fatalf("bomb block decodes to %d fields, want %d", len(got[1]), len(fields)+refs)
	}
	for _, f := range got[1][len(fields):] {
		if f.Name != name || f.Value != value {
			t.Fatalf("a reference decodes to %q, want the entry", f.Name)
		}
	}
	if _, _, ok := bombEntry(40); ok {
		t.Error("an entry for a 40-byte table, want none")
	}
}

func TestFloodFragment(t *testing.T) {
	b := floodFragment(4096)
	if len(b) > 4096 || len(b) < 4000 {
		t.Errorf("fragment of %d bytes, want close to 4096", len(b))
	}
	got := decodeAll(t, 4096, b)[0]
	if len(got) == 0 {
		t.Fatal("fragment decodes to no field")
	}
	for _, f := range got {
		if f.Name != "x-h2rpc-continuation" || !strings.HasPrefix(f.Value, "value-of-") {
			t.Fatalf("field %q: %q", f.Name, f.Value)
		}
	}
}

func TestLargeResponseRequest(t *testing.T) {
	b := largeResponseRequest(largeResponse)
	if b[0] != 0 || int(b[1])<<24|int(b[2])<<16|int(b[3])<<8|int(b[4]) != len(b)-5 {
		t.Fatalf("prefix %x does not announce the %d bytes that follow", b[:5], len(b)-5)
	}
	var req pb.SimpleRequest
	if err := proto.Unmarshal(b[5:], &req); err != nil {
		t.Fatal(err)
	}
	if req.GetResponseSize() != largeResponse {
		t.Errorf("response_size %d, want %d", req.GetResponseSize(), largeResponse)
	}
	if p := messagePrefix(largeMessage); p != [5]byte{0, 0, 0x40, 0, 0} {
		t.Errorf("prefix of a 4 MiB message: %x", p)
	}
}

// TestRequestFieldsAreValid checks the floods' requests against the
// request rules the server applies (RFC 9113 §8.3.1).
func TestRequestFieldsAreValid(t *testing.T) {
	head, err := hpack.ParseRequest(requestFields("http", "localhost:1", "/a.B/C"))
	if err != nil {
		t.Fatal(err)
	}
	if head.Method != "POST" || head.Path != "/a.B/C" {
		t.Errorf("parsed %+v", head)
	}
}
