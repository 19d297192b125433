package stub_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
	"google.golang.org/protobuf/proto"
)

// webReply is a decoded gRPC-Web response.
type webReply struct {
	code     int
	header   http.Header
	messages []string // payloads of the pb.Response messages
	trailer  map[string]string
}

// webFrame frames msg as gRPC-Web (and gRPC) do.
func webFrame(flag byte, msg []byte) []byte {
	b := []byte{flag, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

func webRequest(t *testing.T, payload string, count int32) []byte {
	t.Helper()
	req := &pb.Request{Payload: payload}
	if count > 0 {
		req.Count = &count
	}
	m, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return webFrame(0, m)
}

// postWeb sends a gRPC-Web request and decodes its answer.
func postWeb(t *testing.T, c *http.Client, url, ct string, body []byte, hdr ...string) webReply {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("X-Grpc-Web", "1")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := webReply{code: resp.StatusCode, header: resp.Header, trailer: map[string]string{}}
	if resp.StatusCode != 200 {
		return r
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/grpc-web-text") {
		raw = decodePaddedBase64(t, raw)
	}
	for len(raw) > 0 {
		if len(raw) < 5 || int(binary.BigEndian.Uint32(raw[1:5])) > len(raw)-5 {
			t.Fatalf("truncated gRPC-Web frame: %q", raw)
		}
		n := binary.BigEndian.Uint32(raw[1:5])
		msg := raw[5 : 5+n]
		if raw[0]&0x80 != 0 {
			for _, line := range strings.Split(strings.TrimSuffix(string(msg), "\r\n"), "\r\n") {
				k, v, _ := strings.Cut(line, ": ")
				r.trailer[k] = v
			}
		} else {
			var m pb.Response
			if err := proto.Unmarshal(msg, &m); err != nil {
				t.Fatal(err)
			}
			r.messages = append(r.messages, m.GetPayload())
		}
		raw = raw[5+n:]
	}
	if len(r.trailer) == 0 { // Trailers-Only: the status is in the headers
		for _, k := range []string{"grpc-status", "grpc-message"} {
			if v := resp.Header.Get(k); v != "" {
				r.trailer[k] = v
			}
		}
	}
	return r
}

// decodePaddedBase64 decodes base64 whose padding may come mid-stream.
func decodePaddedBase64(t *testing.T, s []byte) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		i := bytes.IndexByte(s, '=')
		end := len(s)
		if i >= 0 {
			end = i
			for end < len(s) && s[end] == '=' {
				end++
			}
		}
		b, err := base64.StdEncoding.DecodeString(string(s[:end]))
		if err != nil {
			t.Fatalf("response base64: %v", err)
		}
		out = append(out, b...)
		s = s[end:]
	}
	return out
}

func webEnv(t *testing.T) *env {
	return newEnv(t, envConfig{sopts: []stub.ServerOption{
		stub.WithGRPCWeb(stub.WebOptions{AllowedOrigins: []string{"http://allowed.example"}, AllowedHeaders: []string{"k"}, ExposedHeaders: []string{"h"}}),
		stub.MaxRecvMsgSize(1 << 10),
	}})
}

func TestGRPCWebCalls(t *testing.T) {
	leakcheck.Check(t)
	e := webEnv(t)
	base := "http://" + e.addr + "/h2rpc.gentest.Echo/"
	for name, c := range httpClients(t) {
		for _, ct := range []string{"application/grpc-web", "application/grpc-web+proto", "application/grpc-web-text", "application/grpc-web-text+proto"} {
			t.Run(name+"/"+ct, func(t *testing.T) {
				text := strings.Contains(ct, "text")
				enc := func(b []byte) []byte {
					if text {
						return []byte(base64.StdEncoding.EncodeToString(b))
					}
					return b
				}
				r := postWeb(t, c, base+"Unary", ct, enc(webRequest(t, "md", 0)), "K", "v1")
				if r.code != 200 || r.header.Get("Content-Type") != ct || fmt.Sprint(r.messages) != "[v1|[]]" ||
					r.header.Get("H") != "head" || r.trailer["grpc-status"] != "0" || r.trailer["t"] != "trail" {
					t.Fatalf("Unary = %+v", r)
				}
				r = postWeb(t, c, base+"ServerStream", ct, enc(webRequest(t, "n", 3)))
				if fmt.Sprint(r.messages) != "[n0 n1 n2]" || r.trailer["grpc-status"] != "0" {
					t.Fatalf("ServerStream = %+v", r)
				}
				r = postWeb(t, c, base+"Unary", ct, enc(webRequest(t, "fail:5", 0)))
				if len(r.messages) != 0 || r.trailer["grpc-status"] != "5" || r.trailer["grpc-message"] != "failed on purpose" {
					t.Fatalf("failing Unary = %+v", r)
				}
				r = postWeb(t, c, base+"Bidi", ct, enc(webRequest(t, "x", 0)))
				if r.trailer["grpc-status"] != "12" || !strings.Contains(r.trailer["grpc-message"], "bidi-streaming") {
					t.Fatalf("Bidi = %+v", r)
				}
				r = postWeb(t, c, base+"ClientStream", ct, enc(webRequest(t, "x", 0)))
				if r.trailer["grpc-status"] != "12" || !strings.Contains(r.trailer["grpc-message"], "client-streaming") {
					t.Fatalf("ClientStream = %+v", r)
				}
			})
		}
	}
}

// A text body may pad each message, and arrive in chunks that end
// anywhere: two requests, each padded, sent one byte per write.
func TestGRPCWebTextPaddingMidStream(t *testing.T) {
	e := webEnv(t)
	m1, _ := proto.Marshal(&pb.Request{Payload: "p"})
	body := base64.StdEncoding.EncodeToString(webFrame(0, m1)[:4]) + base64.StdEncoding.EncodeToString(webFrame(0, m1)[4:])
	if !strings.Contains(body[:len(body)-4], "=") {
		t.Fatalf("test body %q has no padding mid-stream", body)
	}
	for name, c := range httpClients(t) {
		pr, pw := io.Pipe()
		go func() {
			for i := range len(body) {
				pw.Write([]byte{body[i]})
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", "http://"+e.addr+"/h2rpc.gentest.Echo/Unary", pr)
		req.Header.Set("Content-Type", "application/grpc-web-text")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := decodePaddedBase64(t, raw)
		if !bytes.Contains(got, []byte("grpc-status: 0\r\n")) || !bytes.Contains(got, []byte{0x0a, 1, 'p'}) {
			t.Fatalf("%s: answer %q", name, got)
		}
	}
}

func TestGRPCWebBadInput(t *testing.T) {
	leakcheck.Check(t)
	e := webEnv(t)
	url := "http://" + e.addr + "/h2rpc.gentest.Echo/Unary"
	good := webRequest(t, "ok", 0)
	for name, c := range httpClients(t) {
		t.Run(name, func(t *testing.T) {
			cases := []struct {
				name, ct string
				body     []byte
				code     int
				status   string
			}{
				{"broken base64", "application/grpc-web-text", []byte("AAAA*&^%"), 200, "13"},
				{"base64 cut mid-group", "application/grpc-web-text", []byte("AAAAAAo"), 200, "13"},
				{"truncated frame", "application/grpc-web", good[:len(good)-1], 200, "13"},
				{"truncated prefix", "application/grpc-web", good[:3], 200, "13"},
				{"oversized message", "application/grpc-web", webRequest(t, strings.Repeat("x", 2<<10), 0), 200, "8"},
				{"unknown codec", "application/grpc-web+xml", good, 200, ""},
				{"wrong content type", "application/grpc-webby", good, 415, ""},
				{"no subtype after +", "application/grpc-web+", good, 415, ""},
			}
			for _, tc := range cases {
				r := postWeb(t, c, url, tc.ct, tc.body)
				if r.code != tc.code || (tc.status != "" && r.trailer["grpc-status"] != tc.status) ||
					(tc.code == 200 && r.trailer["grpc-status"] == "0") {
					t.Errorf("%s: %+v; want HTTP %d grpc-status %s", tc.name, r, tc.code, tc.status)
				}
				// The connection and other calls go on.
				if r := postWeb(t, c, url, "application/grpc-web", good); fmt.Sprint(r.messages) != "[ok]" {
					t.Fatalf("after %s: %+v", tc.name, r)
				}
			}
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Content-Type", "application/grpc-web")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("GET gRPC-Web = %d", resp.StatusCode)
			}
		})
	}
	if _, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "x"}); err != nil {
		t.Fatal(err)
	}
}

func TestGRPCWebCORS(t *testing.T) {
	e := webEnv(t)
	url := "http://" + e.addr + "/h2rpc.gentest.Echo/Unary"
	for name, c := range httpClients(t) {
		preflight := func(origin string) *http.Response {
			req, _ := http.NewRequest("OPTIONS", url, nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,x-grpc-web,k")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		resp := preflight("http://allowed.example")
		h := resp.Header
		if resp.StatusCode != 204 || h.Get("Access-Control-Allow-Origin") != "http://allowed.example" ||
			h.Get("Access-Control-Allow-Headers") != "content-type, x-grpc-web, x-user-agent, grpc-timeout, k" ||
			h.Get("Access-Control-Allow-Methods") != "POST" ||
			h.Get("Access-Control-Expose-Headers") != "grpc-status, grpc-message, grpc-status-details-bin, h" {
			t.Fatalf("%s: allowed preflight = %d %q", name, resp.StatusCode, h)
		}
		if resp := preflight("http://evil.example"); resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("%s: disallowed preflight = %d %q", name, resp.StatusCode, resp.Header)
		}
		if r := postWeb(t, c, url, "application/grpc-web", webRequest(t, "o", 0), "Origin", "http://allowed.example"); fmt.Sprint(r.messages) != "[o]" ||
			r.header.Get("Access-Control-Allow-Origin") != "http://allowed.example" || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "grpc-status-details-bin") {
			t.Fatalf("%s: allowed call = %+v", name, r)
		}
		if r := postWeb(t, c, url, "application/grpc-web", webRequest(t, "o", 0), "Origin", "http://evil.example"); r.code != 403 {
			t.Fatalf("%s: disallowed call = %+v", name, r)
		}
		if r := postWeb(t, c, url, "application/grpc-web", webRequest(t, "o", 0), "Origin", "http://"+e.addr); fmt.Sprint(r.messages) != "[o]" {
			t.Fatalf("%s: same-origin call = %+v", name, r)
		}
	}
}
