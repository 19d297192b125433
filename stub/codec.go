package stub

import (
	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/codec"
	"github.com/h2rpc/h2rpc/internal/bufpool"
)

// Codecs must not keep the bytes Unmarshal is given: stub reuses them for
// the next message.

// protoCodec is the codec of plain application/grpc.
var protoCodec = codec.GetCodec("proto")

// codecFor returns the codec of a content subtype ("" and "proto" are
// protobuf), or nil when none is registered.
func codecFor(subtype string) codec.Codec {
	if subtype == "" || subtype == "proto" {
		return protoCodec
	}
	return codec.GetCodec(subtype)
}

// marshal encodes m after channel.MsgHeaderLen free bytes into a pooled
// buffer. The caller sends the returned bytes, then gives the buffer back
// with release.
func marshal(cd codec.Codec, m any) (*[]byte, []byte, error) {
	bp := bufpool.Get(0)
	var (
		p   []byte
		err error
	)
	if ac, ok := cd.(codec.AppendCodec); ok {
		p, err = ac.MarshalAppend((*bp)[:channel.MsgHeaderLen], m)
	} else {
		var b []byte
		if b, err = cd.Marshal(m); err == nil {
			p = append((*bp)[:channel.MsgHeaderLen], b...)
		}
	}
	if err != nil {
		bufpool.Put(bp)
		return nil, nil, status.Errorf(codes.Internal, "grpc: error while marshaling: %v", err)
	}
	return bp, p, nil
}

// release gives back a pooled buffer, keeping p's array when it grew.
func release(bp *[]byte, p []byte) {
	if cap(p) > cap(*bp) {
		*bp = p[:0]
	}
	bufpool.Put(bp)
}

// unmarshal decodes msg into m, with codes.Internal on failure.
func unmarshal(cd codec.Codec, msg []byte, m any) error {
	if err := cd.Unmarshal(msg, m); err != nil {
		return status.Errorf(codes.Internal, "grpc: failed to unmarshal the received message: %v", err)
	}
	return nil
}

// send marshals m into a pooled buffer and hands it to send, the channel
// stream's SendMsg, which does not keep it.
func send(cd codec.Codec, m any, send func([]byte) error) error {
	bp, p, err := marshal(cd, m)
	if err != nil {
		return err
	}
	err = send(p)
	release(bp, p)
	return err
}
