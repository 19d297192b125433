package stub

import (
	"context"
	"io"
	"sync"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/codec"
	"github.com/h2rpc/h2rpc/internal/bufpool"
)

// unaryCall holds what the decode function of a unary call needs. They are
// pooled with their dec method value bound, so a call allocates neither.
type unaryCall struct {
	cd  codec.Codec
	msg []byte
	dec func(any) error
}

var unaryCallPool = sync.Pool{New: func() any {
	u := new(unaryCall)
	u.dec = u.decode
	return u
}}

func (u *unaryCall) decode(m any) error { return unmarshal(u.cd, u.msg, m) }

func noCodec(subtype string) *status.Status {
	return status.Newf(codes.Internal, "grpc: no codec registered for content-subtype %s", subtype)
}

// processUnary serves a unary call: one request, one response or an error.
func (s *Server) processUnary(ss *channel.ServerStream, m *method) {
	cd := codecFor(ss.ContentSubtype())
	if cd == nil {
		ss.Finish(noCodec(ss.ContentSubtype()))
		return
	}
	bp := bufpool.Get(0)
	msg, err := ss.RecvMsg((*bp)[:0])
	if err == nil {
		// A unary request is exactly one message: the next read must
		// find the end of the request stream.
		if _, err = ss.RecvMsg(nil); err == nil {
			err = status.Error(codes.Unimplemented, "grpc: cardinality violation: the client sent more than one request message to a unary call")
		} else if err == io.EOF {
			err = nil
		}
	} else if err == io.EOF {
		err = status.Error(codes.Unimplemented, "grpc: cardinality violation: the client sent no request message to a unary call")
	}
	if err != nil {
		release(bp, msg)
		ss.Finish(errStatus(err))
		return
	}

	u := unaryCallPool.Get().(*unaryCall)
	u.cd, u.msg = cd, msg
	reply, err := m.md.Handler(m.impl, ss.Context(), u.dec, s.unaryInt)
	u.cd, u.msg = nil, nil
	unaryCallPool.Put(u)
	release(bp, msg)
	if err != nil {
		ss.Finish(errStatus(err))
		return
	}
	rp, p, err := marshal(cd, reply)
	if err != nil {
		ss.Finish(errStatus(err))
		return
	}
	// The reply and the trailers leave in one write.
	ss.SendMsgAndFinish(p, nil)
	release(rp, p)
}

// processStream serves a streaming call with handler h, through the stream
// interceptors.
func (s *Server) processStream(ss *channel.ServerStream, impl any, h StreamHandler, info *StreamServerInfo) {
	cd := codecFor(ss.ContentSubtype())
	if cd == nil {
		ss.Finish(noCodec(ss.ContentSubtype()))
		return
	}
	x := &serverStream{ss: ss, cd: cd, single: !info.IsClientStream}
	var err error
	if s.streamInt != nil {
		err = s.streamInt(impl, x, info, h)
	} else {
		err = h(impl, x)
	}
	if err != nil {
		ss.Finish(errStatus(err))
		return
	}
	ss.Finish(nil)
}

// serverStream is the ServerStream of a streaming call.
type serverStream struct {
	ss *channel.ServerStream
	cd codec.Codec
	// single marks a server-streaming call, whose client sends exactly
	// one request: RecvMsg checks it (gRPC's statuscodes.md makes zero or
	// several an UNIMPLEMENTED cardinality violation).
	single bool
	recvd  bool
}

func (x *serverStream) Context() context.Context        { return x.ss.Context() }
func (x *serverStream) SetHeader(md metadata.MD) error  { return x.ss.SetHeader(md) }
func (x *serverStream) SendHeader(md metadata.MD) error { return x.ss.SendHeader(md) }
func (x *serverStream) SetTrailer(md metadata.MD)       { x.ss.SetTrailer(md) }

func (x *serverStream) SendMsg(m any) error {
	return send(x.cd, m, x.ss.SendMsg)
}

func (x *serverStream) RecvMsg(m any) error {
	if x.single && x.recvd {
		return io.EOF
	}
	bp := bufpool.Get(0)
	msg, err := x.ss.RecvMsg((*bp)[:0])
	if x.single {
		err = x.checkSingle(err)
	}
	if err == nil {
		err = unmarshal(x.cd, msg, m)
	}
	release(bp, msg)
	return err
}

// checkSingle checks that the request of a server-streaming call is its
// only message, given the result of reading the first one; it returns the
// error the read should report.
func (x *serverStream) checkSingle(err error) error {
	x.recvd = true
	switch err {
	case io.EOF:
		return status.Error(codes.Unimplemented, "grpc: cardinality violation: the client sent no request message to a server-streaming call")
	case nil:
		switch _, err := x.ss.RecvMsg(nil); err {
		case io.EOF:
			return nil
		case nil:
			return status.Error(codes.Unimplemented, "grpc: cardinality violation: the client sent more than one request message to a server-streaming call")
		default:
			return err
		}
	}
	return err
}
