package interop

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"
)

// The compression cases run on the channel directly: they set the
// compressed flag of single requests and look at that of responses, which
// the typed API hides.

// noCompression is the compressor name that turns compression off for one
// call.
const noCompression = "identity"

// DoClientCompressedUnary: an uncompressed UnaryCall that says it is
// compressed must fail with INVALID_ARGUMENT (the server checks); then a
// compressed and an uncompressed one, each saying so, must succeed.
func DoClientCompressedUnary(ctx context.Context, ch *channel.ClientConn) error {
	if ch == nil {
		return errors.New("client_compressed_unary needs a channel connection")
	}
	req := func(expect bool) *pb.SimpleRequest {
		r := largeUnaryRequest(largeRequestSize, largeResponseSize)
		r.ExpectCompressed = &pb.BoolValue{Value: expect}
		return r
	}
	_, err := invoke(ctx, ch, unaryCallMethod, req(true), noCompression)
	if err := checkCode("probe: uncompressed UnaryCall with expect_compressed=true", err, codes.InvalidArgument); err != nil {
		return fmt.Errorf("%w (the server must check compression)", err)
	}
	for _, compressed := range []bool{true, false} {
		name := noCompression
		if compressed {
			name = compressorName
		}
		reply, err := invoke(ctx, ch, unaryCallMethod, req(compressed), name)
		if err != nil {
			return fmt.Errorf("UnaryCall with a request compressed=%v: %w", compressed, err)
		}
		var resp pb.SimpleResponse
		if err := proto.Unmarshal(reply, &resp); err != nil {
			return fmt.Errorf("UnaryCall with a request compressed=%v: decoding the response: %w", compressed, err)
		}
		if err := checkPayload(fmt.Sprintf("UnaryCall (request compressed=%v) response", compressed), resp.GetPayload(), largeResponseSize); err != nil {
			return err
		}
	}
	return nil
}

// DoServerCompressedUnary: UnaryCalls asking for a compressed and an
// uncompressed response; the response's compressed flag must match.
func DoServerCompressedUnary(ctx context.Context, ch *channel.ClientConn) error {
	if ch == nil {
		return errors.New("server_compressed_unary needs a channel connection")
	}
	for _, compressed := range []bool{true, false} {
		req := largeUnaryRequest(largeRequestSize, largeResponseSize)
		req.ResponseCompressed = &pb.BoolValue{Value: compressed}
		what := fmt.Sprintf("UnaryCall with response_compressed=%v", compressed)
		err := func() error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			cs, err := ch.NewStream(ctx, unaryCallMethod, &channel.CallOptions{Compressor: noCompression})
			if err != nil {
				return err
			}
			if err := sendMsg(cs, req); err != nil {
				return err
			}
			if err := cs.CloseSend(); err != nil {
				return err
			}
			var resp pb.SimpleResponse
			got, err := recvMsg(cs, &resp)
			if err != nil {
				return err
			}
			if got != compressed {
				return fmt.Errorf("the response's compressed flag is %v, want %v", got, compressed)
			}
			if err := checkPayload("the response", resp.GetPayload(), largeResponseSize); err != nil {
				return err
			}
			return expectChannelEnd(cs)
		}()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// DoClientCompressedStreaming: a StreamingInputCall whose uncompressed
// message says it is compressed must fail with INVALID_ARGUMENT; then one
// with a compressed 27182-byte and an uncompressed 45904-byte message, each
// saying so, must count 73086 bytes.
func DoClientCompressedStreaming(ctx context.Context, ch *channel.ClientConn) error {
	if ch == nil {
		return errors.New("client_compressed_streaming needs a channel connection")
	}
	msg := func(n int, expect bool) *pb.StreamingInputCallRequest {
		return &pb.StreamingInputCallRequest{Payload: newClientPayload(n), ExpectCompressed: &pb.BoolValue{Value: expect}}
	}
	err := func() error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		cs, err := ch.NewStream(ctx, streamingInputCallMethod, &channel.CallOptions{Compressor: noCompression})
		if err != nil {
			return err
		}
		if err := sendMsg(cs, msg(27182, true)); err != nil && err != io.EOF {
			return err
		}
		if err := cs.CloseSend(); err != nil {
			return err
		}
		var resp pb.StreamingInputCallResponse
		_, err = recvMsg(cs, &resp)
		if err := checkCode("StreamingInputCall with an uncompressed message and expect_compressed=true", err, codes.InvalidArgument); err != nil {
			return fmt.Errorf("%w (the server must check compression)", err)
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := ch.NewStream(ctx, streamingInputCallMethod, &channel.CallOptions{Compressor: compressorName})
	if err != nil {
		return fmt.Errorf("StreamingInputCall failed to start: %w", err)
	}
	cs.SetMessageCompression(true)
	if err := sendMsg(cs, msg(27182, true)); err != nil {
		return fmt.Errorf("StreamingInputCall: sending the compressed message: %w", err)
	}
	cs.SetMessageCompression(false)
	if err := sendMsg(cs, msg(45904, false)); err != nil {
		return fmt.Errorf("StreamingInputCall: sending the uncompressed message: %w", err)
	}
	if err := cs.CloseSend(); err != nil {
		return fmt.Errorf("StreamingInputCall: CloseSend: %w", err)
	}
	var resp pb.StreamingInputCallResponse
	if _, err := recvMsg(cs, &resp); err != nil {
		return fmt.Errorf("StreamingInputCall failed: %w", eofAsError(err))
	}
	if got := resp.GetAggregatedPayloadSize(); got != 27182+45904 {
		return fmt.Errorf("StreamingInputCall: aggregated_payload_size is %d, want %d", got, 27182+45904)
	}
	if err := expectChannelEnd(cs); err != nil {
		return fmt.Errorf("StreamingInputCall: %w", err)
	}
	return nil
}

// DoServerCompressedStreaming: a StreamingOutputCall asking for a
// compressed 31415-byte and an uncompressed 92653-byte response; the flags
// of the responses must match.
func DoServerCompressedStreaming(ctx context.Context, ch *channel.ClientConn) error {
	if ch == nil {
		return errors.New("server_compressed_streaming needs a channel connection")
	}
	params := []*pb.ResponseParameters{
		{Size: 31415, Compressed: &pb.BoolValue{Value: true}},
		{Size: 92653, Compressed: &pb.BoolValue{Value: false}},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := ch.NewStream(ctx, streamingOutputCallMethod, &channel.CallOptions{Compressor: noCompression})
	if err != nil {
		return fmt.Errorf("StreamingOutputCall failed to start: %w", err)
	}
	if err := sendMsg(cs, &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE, ResponseParameters: params}); err != nil {
		return fmt.Errorf("StreamingOutputCall: Send: %w", err)
	}
	if err := cs.CloseSend(); err != nil {
		return fmt.Errorf("StreamingOutputCall: CloseSend: %w", err)
	}
	for i, p := range params {
		var resp pb.StreamingOutputCallResponse
		got, err := recvMsg(cs, &resp)
		if err != nil {
			return fmt.Errorf("StreamingOutputCall: receiving response %d: %w", i+1, eofAsError(err))
		}
		if want := p.GetCompressed().GetValue(); got != want {
			return fmt.Errorf("StreamingOutputCall: response %d's compressed flag is %v, want %v", i+1, got, want)
		}
		if err := checkPayload(fmt.Sprintf("StreamingOutputCall response %d", i+1), resp.GetPayload(), int(p.GetSize())); err != nil {
			return err
		}
	}
	if err := expectChannelEnd(cs); err != nil {
		return fmt.Errorf("StreamingOutputCall: %w", err)
	}
	return nil
}

// frame marshals m behind the reserved message header.
func frame(m proto.Message) ([]byte, error) {
	b := make([]byte, channel.MsgHeaderLen, channel.MsgHeaderLen+proto.Size(m))
	return proto.MarshalOptions{}.MarshalAppend(b, m)
}

// invoke runs a unary call with the named compressor and returns the
// response message's bytes.
func invoke(ctx context.Context, ch *channel.ClientConn, method string, req proto.Message, compressor string) ([]byte, error) {
	b, err := frame(req)
	if err != nil {
		return nil, err
	}
	return ch.Invoke(ctx, method, b, nil, &channel.CallOptions{Compressor: compressor}, nil, nil)
}

func sendMsg(cs *channel.ClientStream, m proto.Message) error {
	b, err := frame(m)
	if err != nil {
		return err
	}
	return cs.SendMsg(b)
}

// recvMsg receives the next message into m and reports whether it arrived
// compressed.
func recvMsg(cs *channel.ClientStream, m proto.Message) (compressed bool, err error) {
	b, err := cs.RecvMsg(nil)
	if err != nil {
		return false, err
	}
	compressed = cs.LastRecvCompressed()
	if err := proto.Unmarshal(b, m); err != nil {
		return compressed, fmt.Errorf("decoding %T: %w", m, err)
	}
	return compressed, nil
}

// expectChannelEnd checks that a call ends OK without more messages.
func expectChannelEnd(cs *channel.ClientStream) error {
	_, err := cs.RecvMsg(nil)
	switch {
	case err == io.EOF:
		return nil
	case err == nil:
		return errors.New("the server sent more responses than asked for")
	default:
		return fmt.Errorf("the call ended with %w, want OK", err)
	}
}
