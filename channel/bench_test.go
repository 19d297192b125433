package channel

import (
	"testing"
)

// BenchmarkUnary measures one unary call at a time with a 1-byte message,
// client and server in this process.
func BenchmarkUnary(b *testing.B) {
	s := startServer(b, nil, func(ss *ServerStream) {
		m, err := ss.RecvMsg(nil)
		if err != nil {
			ss.Finish(nil)
			return
		}
		var out [MsgHeaderLen + 1]byte
		out[MsgHeaderLen] = m[0]
		ss.SendMsgAndFinish(out[:], nil)
	})
	cc := newTestClient(b, s.addr())
	req := msg("x")
	var reply []byte
	var err error
	b.ReportAllocs()
	for b.Loop() {
		reply, err = cc.Invoke(bg(), "/bench.B/Unary", req, reply, nil, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnaryParallel runs unary calls from many goroutines on one
// connection.
func BenchmarkUnaryParallel(b *testing.B) {
	s := startServer(b, nil, echoHandler)
	cc := newTestClient(b, s.addr())
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		req := msg("x")
		var reply []byte
		var err error
		for pb.Next() {
			reply, err = cc.Invoke(bg(), "/bench.B/Unary", req, reply, nil, nil, nil)
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}
