package grpcgo

import (
	"bytes"
	"context"
	"io"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// TestStacks checks that the benchmarks' work is real on every stack: the
// echoes come back intact and the streams end cleanly.
func TestStacks(t *testing.T) {
	for _, st := range Stacks {
		t.Run(st.Name, func(t *testing.T) {
			c := start(t, st)
			ctx := context.Background()
			for _, p := range [][]byte{payload1B, payload1KiB, bytes.Repeat([]byte{7}, 1<<20)} {
				out, err := c.Unary(ctx, &wrapperspb.BytesValue{Value: p})
				if err != nil {
					t.Fatalf("unary of %d bytes: %v", len(p), err)
				}
				if !bytes.Equal(out.Value, p) {
					t.Fatalf("unary of %d bytes: %d bytes back, not the same", len(p), len(out.Value))
				}
			}

			op, close, err := pingPong(c, payload1KiB)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := op(); err != nil {
					t.Fatal(err)
				}
			}
			if err := close(); err != nil {
				t.Fatal(err)
			}

			s, err := Stream(ctx, c, StreamRequest(3, 1<<20))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				out := new(wrapperspb.BytesValue)
				if err := s.RecvMsg(out); err != nil {
					t.Fatalf("stream message %d: %v", i, err)
				}
				if len(out.Value) != 1<<20 || out.Value[1<<20-1] != 0xff {
					t.Fatalf("stream message %d: %d bytes, not the ones sent", i, len(out.Value))
				}
			}
			if err := s.RecvMsg(new(wrapperspb.BytesValue)); err != io.EOF {
				t.Fatalf("end of stream: %v, want io.EOF", err)
			}
		})
	}
}

// TestWireBytes logs what one unary 1-byte call puts on the wire with each
// stack: the sizes the tcp floor of BenchmarkUnary1B uses for h2rpc.
func TestWireBytes(t *testing.T) {
	for _, st := range Stacks {
		req, resp := wireBytes(t, st, payload1B)
		if req == 0 || resp == 0 {
			t.Errorf("%s: %d request bytes, %d response bytes per call", st.Name, req, resp)
		}
		t.Logf("%s: %d request bytes, %d response bytes per unary 1-byte call", st.Name, req, resp)
	}
}
