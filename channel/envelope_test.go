package channel

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/codec"
)

// TestMsgHeaderBytes checks the exact length prefix of PROTOCOL-HTTP2
// "Length-Prefixed-Message".
func TestMsgHeaderBytes(t *testing.T) {
	p := msg("abc")
	putMsgHeader(p, false)
	if want := []byte{0, 0, 0, 0, 3, 'a', 'b', 'c'}; !bytes.Equal(p, want) {
		t.Fatalf("% x, want % x", p, want)
	}
	p = append(make([]byte, MsgHeaderLen), make([]byte, 0x010203)...)
	putMsgHeader(p, true)
	if want := []byte{1, 0, 1, 2, 3}; !bytes.Equal(p[:5], want) {
		t.Fatalf("% x, want % x", p[:5], want)
	}
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

func framed(flag byte, body []byte) []byte {
	p := append(make([]byte, MsgHeaderLen), body...)
	putMsgHeader(p, flag == 1)
	p[0] = flag
	return p
}

func TestMsgReader(t *testing.T) {
	gz := codec.GetCompressor("gzip")
	for _, tc := range []struct {
		name   string
		in     []byte
		decomp codec.Compressor
		limit  int
		want   []string
		code   codes.Code // of the error after the messages; OK means io.EOF
	}{
		{"empty body", nil, nil, 100, nil, codes.OK},
		{"one", framed(0, []byte("hi")), nil, 100, []string{"hi"}, codes.OK},
		{"zero length", framed(0, nil), nil, 100, []string{""}, codes.OK},
		{"two", append(framed(0, []byte("a")), framed(0, []byte("bc"))...), nil, 100, []string{"a", "bc"}, codes.OK},
		{"prefix cut", []byte{0, 0, 0}, nil, 100, nil, codes.Internal},
		{"body cut", []byte{0, 0, 0, 0, 5, 'a'}, nil, 100, nil, codes.Internal},
		{"bad flag", framed(7, []byte("a")), nil, 100, nil, codes.Internal},
		{"compressed without encoding", framed(1, gzipped("a")), nil, 100, nil, codes.Internal},
		{"compressed", framed(1, gzipped("hello")), gz, 100, []string{"hello"}, codes.OK},
		{"uncompressed with encoding", framed(0, []byte("plain")), gz, 100, []string{"plain"}, codes.OK},
		{"corrupt gzip", framed(1, []byte("not gzip")), gz, 100, nil, codes.Internal},
		{"at limit", framed(0, []byte("12345")), nil, 5, []string{"12345"}, codes.OK},
		{"over limit", framed(0, []byte("123456")), nil, 5, nil, codes.ResourceExhausted},
		{"over limit only announced", []byte{0, 0xff, 0xff, 0xff, 0xff}, nil, 5, nil, codes.ResourceExhausted},
		{"over limit decompressed", framed(1, gzipped(strings.Repeat("x", 6))), gz, 5, nil, codes.ResourceExhausted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := msgReader{r: bytes.NewReader(tc.in), limit: tc.limit, decomp: tc.decomp}
			var got []string
			var err error
			for {
				var b []byte
				b, err = m.next(nil)
				if err != nil {
					break
				}
				got = append(got, string(b))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("messages %q, want %q", got, tc.want)
			}
			if tc.code == codes.OK {
				if err != io.EOF {
					t.Errorf("end %v, want io.EOF", err)
				}
			} else if status.Code(err) != tc.code {
				t.Errorf("end %v, want %v", err, tc.code)
			}
		})
	}
}

func TestTimeoutEncoding(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1n"}, {-time.Second, "1n"}, {1, "1n"}, {99999999, "99999999n"},
		{100000000, "100000u"}, {time.Second, "1000000u"}, {100 * time.Second, "100000m"},
		{time.Hour, "3600000m"}, {30 * time.Hour, "108000S"}, {10000 * time.Hour, "36000000S"}, {100000 * time.Hour, "6000000M"},
		{maxDuration, "2562048H"},
		{time.Millisecond + 1, "1000001n"}, {100*time.Millisecond + 1, "100001u"},
	} {
		if got := string(appendTimeout(nil, tc.d)); got != tc.want {
			t.Errorf("appendTimeout(%v) = %q, want %q", tc.d, got, tc.want)
		}
		if back, err := parseTimeout(tc.want); err != nil || (tc.d > 0 && back < tc.d) {
			t.Errorf("parseTimeout(%q) = %v, %v; want ≥ %v", tc.want, back, err, tc.d)
		}
	}
	for _, bad := range []string{"", "1", "S", "123456789S", "1s", "-1S", "1.5S", "1 S"} {
		if _, err := parseTimeout(bad); err == nil {
			t.Errorf("parseTimeout(%q) succeeded", bad)
		}
	}
	if d, _ := parseTimeout("99999999H"); d != maxDuration {
		t.Errorf("saturation: %v", d)
	}
}

// FuzzMsgReader feeds arbitrary bodies to the message reader: it must
// never panic, never return more than the limit, and end with io.EOF or a
// status error.
func FuzzMsgReader(f *testing.F) {
	f.Add(framed(0, []byte("hi")), false, 100)
	f.Add(framed(1, gzipped("hello")), true, 100)
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff}, false, 1<<20)
	f.Add([]byte{1, 0, 0, 0, 3, 1, 2, 3}, true, 2)
	f.Fuzz(func(t *testing.T, in []byte, compressed bool, limit int) {
		if limit < 0 {
			limit = -limit
		}
		limit %= 1 << 20
		m := msgReader{r: bytes.NewReader(in), limit: limit}
		if compressed {
			m.decomp = codec.GetCompressor("gzip")
		}
		for range len(in) + 1 {
			b, err := m.next(nil)
			if err == io.EOF {
				return
			}
			if err != nil {
				if _, ok := status.FromError(err); !ok || status.Code(err) == codes.Unknown {
					t.Fatalf("non-status error %v", err)
				}
				return
			}
			if len(b) > limit {
				t.Fatalf("message of %d bytes over limit %d", len(b), limit)
			}
		}
		t.Fatal("reader made no progress")
	})
}

func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"1S", "99999999H", "0n", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseTimeout(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("negative %v from %q", d, s)
		}
		if enc := appendTimeout(nil, d); len(enc) > 9 {
			t.Fatalf("re-encoding %v gave %q", d, enc)
		}
	})
}

// trickle hands out its bytes a few at a time, as a slow peer sends them.
type trickle struct{ p []byte }

func (t *trickle) Read(b []byte) (int, error) {
	if len(t.p) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), 1000)], t.p)
	t.p = t.p[n:]
	return n, nil
}

// TestEagerBudget: messages are allocated in full on their prefix only
// while the connection's eager budget lasts; past it a message's buffer
// grows with what arrives, and the message is read whole either way.
func TestEagerBudget(t *testing.T) {
	var eager atomic.Int64
	m := &msgReader{eager: &eager, limit: DefaultMaxRecvMsgSize}
	const big = 4 << 20
	for i := range eagerBudget / big {
		if !m.takeEager(big) {
			t.Fatalf("message %d refused within the budget", i)
		}
	}
	if m.takeEager(big) {
		t.Fatalf("message past the budget allocated eagerly (%d held)", eager.Load())
	}
	if !m.takeEager(64 << 10) {
		t.Fatal("small messages are always allocated at once")
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16)
	m.r = &trickle{p: framed(0, body)}
	got, err := m.next(nil)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if c := cap(got); c >= 2*len(body) {
		t.Errorf("buffer of %d bytes for a %d-byte message", c, len(body))
	}
	m.giveEager(big)
	if !m.takeEager(big) {
		t.Fatal("budget not given back")
	}
	if held := eager.Load(); held != eagerBudget {
		t.Fatalf("%d bytes held, want %d", held, eagerBudget)
	}
}
