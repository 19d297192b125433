package stub

import (
	"bytes"
	"encoding/base64"
	"io"
	"testing"
	"testing/iotest"
)

// chunkReader returns its bytes n at a time, as a network may.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.b))
	copy(p, r.b[:k])
	r.b = r.b[k:]
	return k, nil
}

// FuzzWebTextBody checks the decoder of gRPC-Web text bodies: data cut
// into pieces at the cuts, each piece base64-encoded with its padding (as
// a client encoding each message does), then delivered in chunks of any
// size, decodes to data; and any input decodes or fails with an error,
// never more bytes than it could hold.
func FuzzWebTextBody(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x00\x03abc"), []byte{1, 4}, uint8(1), []byte("AA=="))
	f.Add([]byte(""), []byte{}, uint8(7), []byte("QQ==QUI=QUJD"))
	f.Add(bytes.Repeat([]byte{0xff}, 5000), []byte{250, 3}, uint8(200), []byte("A\r\nAAA"))
	f.Fuzz(func(t *testing.T, data, cuts []byte, chunk uint8, raw []byte) {
		n := int(chunk%64) + 1
		var body []byte
		rest := data
		for _, c := range cuts {
			k := min(int(c), len(rest))
			body = base64.StdEncoding.AppendEncode(body, rest[:k])
			rest = rest[k:]
		}
		body = base64.StdEncoding.AppendEncode(body, rest)
		got, err := io.ReadAll(newBase64Reader(&chunkReader{b: body, n: n}))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("decoded %q, %v; want %q", got, err, data)
		}
		got, err = io.ReadAll(iotest.OneByteReader(newBase64Reader(&chunkReader{b: raw, n: n})))
		want, ok := decodeGroups(raw)
		if (err == nil) != ok || ok && !bytes.Equal(got, want) {
			t.Fatalf("%q decoded to %q, %v; by groups %q, %v", raw, got, err, want, ok)
		}
	})
}

// decodeGroups is the reference decoder: line breaks dropped, then each
// group of four characters decoded on its own.
func decodeGroups(raw []byte) ([]byte, bool) {
	s := bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r"), nil), []byte("\n"), nil)
	if len(s)%4 != 0 {
		return nil, false
	}
	var out []byte
	for i := 0; i < len(s); i += 4 {
		b, err := base64.StdEncoding.DecodeString(string(s[i : i+4]))
		if err != nil {
			return nil, false
		}
		out = append(out, b...)
	}
	return out, true
}
