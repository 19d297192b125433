package hpack

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	xhpack "golang.org/x/net/http2/hpack"
)

// decodeFragments decodes block with d, split into fragments whose lengths
// are taken in turn from cuts; a length of 0 is an empty fragment the first
// time round and 1 after that. It returns how many fragments it wrote.
func decodeFragments(d *Decoder, dst []HeaderField, block, cuts []byte) ([]HeaderField, int, error) {
	d.Begin(dst)
	frags := 0
	for i := 0; len(block) > 0 || i < len(cuts); i++ {
		n := len(block)
		if len(cuts) > 0 {
			c := int(cuts[i%len(cuts)])
			if c == 0 && i >= len(cuts) {
				c = 1
			}
			n = min(n, c)
		}
		frags++
		if err := d.Write(block[:n]); err != nil {
			return nil, frags, err
		}
		block = block[n:]
	}
	fields, err := d.End()
	return fields, frags, err
}

// sizeUpdateRule reports whether err is a refusal tied to where dynamic
// table size updates may stand. x/net and this package differ there on
// purpose: x/net refuses a second update at the start of a block once its
// table holds anything (RFC 7541 §4.2 allows it), and accepts an update after
// a field while its table is empty (§4.2 forbids it).
func sizeUpdateRule(err error) bool {
	return err != nil && strings.Contains(err.Error(), "dynamic table size update")
}

// FuzzDecode decodes two consecutive blocks on one connection, each split
// into arbitrary fragments, and checks the result against x/net's decoder
// fed each block in one piece: the same fields or both fail, except where
// our limits refuse first or the size-update rules above differ.
func FuzzDecode(f *testing.F) {
	e := NewEncoder()
	req1, req2 := e.AppendBlock(nil, grpcRequest), e.AppendBlock(nil, grpcRequest)
	seeds := [][2][]byte{
		{req1, req2},
		{e.AppendBlock(nil, grpcResponse), e.AppendBlock(nil, grpcTrailers)},
		{unhex(f, rfcC3[0]), unhex(f, rfcC3[1])},
		{unhex(f, rfcC4[0]), unhex(f, rfcC4[2])},
		{unhex(f, rfcC5[0]), unhex(f, rfcC5[1])},
		{unhex(f, rfcC6[0]), unhex(f, rfcC6[2])},
		{unhex(f, rfcC3[0]), unhex(f, "3f45 3fe11f be")},
		{unhex(f, "20 82"), unhex(f, "82 20")},
		{unhex(f, "3fe21f 82"), nil},
		{unhex(f, "0085 f2b2 4a84 ff84 4985 7e"), nil},
		{unhex(f, "ff ffffffffffffffffff01"), nil},
		{literal("a", strings.Repeat("x", 300), true), literal("b", strings.Repeat("y", 300), false)},
	}
	for i, s := range seeds {
		f.Add(s[0], s[1], []byte{byte(i), 1, 7}, uint16(0))
		f.Add(s[0], s[1], []byte{}, uint16(200+i*20))
	}
	f.Fuzz(func(t *testing.T, a, b, cuts []byte, limit uint16) {
		if len(cuts) > 64 {
			cuts = cuts[:64]
		}
		d := NewDecoder(4096, uint32(limit))
		var oracleOut []HeaderField
		oracle := xhpack.NewDecoder(4096, func(f HeaderField) { oracleOut = append(oracleOut, f) })
		var dst []HeaderField
		for _, block := range [][]byte{a, b} {
			got, frags, err := decodeFragments(d, dst, block, cuts)
			dst = got
			oracleOut = oracleOut[:0]
			_, oerr := oracle.Write(block)
			if oerr == nil {
				oerr = oracle.Close()
			}
			switch {
			case errors.Is(err, ErrBlockTooLarge):
				if frags <= MaxFragments && uint64(len(block)+fragmentOverhead*frags) <= d.BlockCap() {
					t.Fatalf("block of %d bytes in %d fragments refused as too large", len(block), frags)
				}
				return
			case errors.Is(err, xhpack.ErrStringLength):
				return
			case errors.Is(err, ErrHeaderListTooLarge):
				if got != nil {
					t.Fatal("fields returned with ErrHeaderListTooLarge")
				}
				if HeaderListSize(oracleOut) <= d.MaxHeaderListSize() && oerr == nil {
					t.Fatalf("list of size %d refused; limit %d", HeaderListSize(oracleOut), d.MaxHeaderListSize())
				}
				if oerr != nil {
					return
				}
				continue // the tables must still agree on the next block
			case err != nil && !errors.Is(err, ErrCompression):
				t.Fatalf("unexpected error class: %v", err)
			}
			if (err == nil) != (oerr == nil) {
				if sizeUpdateRule(err) || sizeUpdateRule(oerr) {
					return
				}
				t.Fatalf("block %x: ours %v, x/net %v", block, err, oerr)
			}
			if err != nil {
				return
			}
			if !slices.Equal(got, oracleOut) {
				t.Fatalf("block %x:\n ours %v\nx/net %v", block, got, oracleOut)
			}
			if HeaderListSize(got) > d.MaxHeaderListSize() {
				t.Fatalf("list size %d above the limit %d", HeaderListSize(got), d.MaxHeaderListSize())
			}
		}
	})
}

// parseFields turns "name=value" lines into a header list.
func parseFields(data []byte) []HeaderField {
	var fields []HeaderField
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		name, value, _ := strings.Cut(string(line), "=")
		fields = append(fields, HeaderField{Name: name, Value: value})
	}
	return fields
}

// FuzzParseRequest checks that ParseRequest never panics, fails only with a
// *MalformedError, and accepts only lists that keep the rules.
func FuzzParseRequest(f *testing.F) {
	var grpc []byte
	for _, fld := range grpcRequest {
		grpc = append(grpc, fld.Name+"="+fld.Value+"\n"...)
	}
	f.Add(bytes.TrimSuffix(grpc, []byte{'\n'}))
	f.Add([]byte(":method=CONNECT\n:authority=example.com:443"))
	f.Add([]byte(":method=CONNECT\n:protocol=websocket\n:scheme=https\n:path=/chat\n:authority=a"))
	f.Add([]byte(":method=GET\n:scheme=https\n:path=/\nhost=a\ncontent-length=10\ncontent-length=10"))
	f.Add([]byte(":method=GET\n:scheme=https\n:path=/\n:authority=a\nte=trailers\nX-Up=1"))
	f.Add([]byte(":status=200\ncontent-type=application/grpc"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields := parseFields(data)
		h, err := ParseRequest(fields)
		_, rerr := ParseResponse(fields)
		terr := CheckTrailers(fields)
		for _, e := range []error{err, rerr, terr} {
			var m *MalformedError
			if e != nil && (!errors.Is(e, ErrMalformed) || !errors.As(e, &m)) {
				t.Fatalf("error not a *MalformedError: %v", e)
			}
		}
		if err != nil {
			return
		}
		if h.Method == "" || h.ContentLength < -1 {
			t.Fatalf("accepted %q as %+v", data, h)
		}
		if h.Method != "CONNECT" || h.Protocol != "" {
			if h.Scheme == "" || h.Path == "" {
				t.Fatalf("accepted %q without :scheme or :path", data)
			}
		}
		regular := false
		for _, fld := range fields {
			if isPseudo(fld.Name) {
				if regular {
					t.Fatalf("accepted %q with a pseudo-header after a regular field", data)
				}
				continue
			}
			regular = true
			if fld.Name != strings.ToLower(fld.Name) || strings.ContainsAny(fld.Value, "\x00\r\n") ||
				strings.TrimSpace(fld.Value) != fld.Value && strings.Trim(fld.Value, " \t") != fld.Value {
				t.Fatalf("accepted %q with field %q", data, fld)
			}
			switch fld.Name {
			case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
				t.Fatalf("accepted %q with %s", data, fld.Name)
			}
		}
	})
}
