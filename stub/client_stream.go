package stub

import (
	"context"
	"io"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/codec"
	"github.com/h2rpc/h2rpc/internal/bufpool"
)

// NewStream starts a streaming call of method described by desc. Generated
// clients call it; the typed streams they return wrap the ClientStream.
func (cc *ClientConn) NewStream(ctx context.Context, desc *StreamDesc, method string, opts ...CallOption) (ClientStream, error) {
	if cc.streamInt != nil {
		return cc.streamInt(ctx, desc, cc, method, newStream, withDefaults(cc.defaults, opts)...)
	}
	return cc.newStream(ctx, desc, method, cc.defaults, opts)
}

// newStream is the Streamer at the end of the interceptor chain.
func newStream(ctx context.Context, desc *StreamDesc, cc *ClientConn, method string, opts ...CallOption) (ClientStream, error) {
	return cc.newStream(ctx, desc, method, nil, opts)
}

func (cc *ClientConn) newStream(ctx context.Context, desc *StreamDesc, method string, defaults, opts []CallOption) (ClientStream, error) {
	ci := applyCallOptions(applyCallOptions(callInfo{}, defaults), opts)
	cd, co, err := ci.resolve()
	if err != nil {
		return nil, err
	}
	if ctx, err = cc.withCallCreds(ctx, method, ci.creds); err != nil {
		return nil, err
	}
	cs, err := cc.cc.NewStream(ctx, method, &co)
	if err != nil {
		return nil, err
	}
	return &clientStream{cs: cs, desc: desc, cd: cd, header: ci.header, trailer: ci.trailer}, nil
}

// clientStream is the ClientStream of a streaming call.
type clientStream struct {
	cs      *channel.ClientStream
	desc    *StreamDesc
	cd      codec.Codec
	header  *metadata.MD // from the Header call option, filled at the end
	trailer *metadata.MD // from the Trailer call option, filled at the end
	done    bool
}

func (x *clientStream) Context() context.Context     { return x.cs.Context() }
func (x *clientStream) Header() (metadata.MD, error) { return x.cs.Header() }
func (x *clientStream) Trailer() metadata.MD         { return x.cs.Trailer() }
func (x *clientStream) CloseSend() error             { return x.cs.CloseSend() }

func (x *clientStream) SendMsg(m any) error {
	err := send(x.cd, m, x.cs.SendMsg)
	if err == io.EOF && !x.desc.ClientStreams {
		// The call has ended. Generated code for a server-streaming call
		// returns what its one SendMsg says, so this must not be io.EOF:
		// RecvMsg tells how the call ended, as in grpc-go.
		return nil
	}
	return err
}

func (x *clientStream) RecvMsg(m any) error {
	if x.done {
		_, err := x.cs.RecvMsg(nil)
		return err
	}
	bp := bufpool.Get(0)
	msg, err := x.cs.RecvMsg((*bp)[:0])
	if err == nil {
		err = unmarshal(x.cd, msg, m)
		if err != nil {
			x.cs.Cancel()
		}
	}
	release(bp, msg)
	if err == nil && !x.desc.ServerStreams {
		// One response only: the call's status comes next.
		switch _, err = x.cs.RecvMsg(nil); err {
		case io.EOF:
			err = nil
		case nil:
			x.cs.Cancel()
			err = status.Error(codes.Unimplemented, "grpc: cardinality violation: the server sent more than one response message")
		}
		x.finish()
		return err
	}
	if err == io.EOF && !x.desc.ServerStreams {
		err = status.Error(codes.Unimplemented, "grpc: cardinality violation: the server ended the call with OK and no response message")
	}
	if err != nil {
		x.finish()
	}
	return err
}

// finish hands the response metadata to the Header and Trailer call
// options once the call is over.
func (x *clientStream) finish() {
	if x.done {
		return
	}
	x.done = true
	if x.header != nil {
		*x.header, _ = x.cs.Header()
	}
	if x.trailer != nil {
		*x.trailer = x.cs.Trailer()
	}
}
