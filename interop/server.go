package interop

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
)

// Metadata keys the TestService echoes: the value of echoInitialKey comes
// back in the response headers, that of echoTrailingKey (binary) in the
// trailers.
const (
	echoInitialKey  = "x-grpc-test-echo-initial"
	echoTrailingKey = "x-grpc-test-echo-trailing-bin"
)

// compressorName is the compressor the TestService uses when a request
// asks for a compressed response.
const compressorName = "gzip"

// ServerOptions configures NewTestServer.
type ServerOptions struct {
	// ServerID is returned in SimpleResponse.server_id when a request sets
	// fill_server_id; "" means "h2rpc".
	ServerID string
	// Hostname is returned in SimpleResponse.hostname with the server ID.
	Hostname string
}

// NewTestServer returns the grpc.testing.TestService implementation that
// interop clients test against. Register it with
// grpc_testing.RegisterTestServiceServer. It does not implement
// UnimplementedCall, which must fail with UNIMPLEMENTED.
//
// Besides the messages it is asked for, it echoes the
// x-grpc-test-echo-initial header and x-grpc-test-echo-trailing-bin
// trailer, ends calls with the status a request carries in
// response_status, compresses responses on request (response_compressed
// for unary calls, ResponseParameters.compressed per message for streams),
// checks that requests arrived compressed or not as expect_compressed
// says (INVALID_ARGUMENT otherwise), and sleeps interval_us before each
// streamed response.
func NewTestServer(opts ...ServerOptions) pb.TestServiceServer {
	s := &testServer{}
	if len(opts) > 0 {
		s.opts = opts[0]
	}
	if s.opts.ServerID == "" {
		s.opts.ServerID = "h2rpc"
	}
	return s
}

type testServer struct {
	pb.UnimplementedTestServiceServer
	opts ServerOptions
}

func (s *testServer) EmptyCall(context.Context, *pb.Empty) (*pb.Empty, error) {
	return &pb.Empty{}, nil
}

func (s *testServer) UnaryCall(ctx context.Context, req *pb.SimpleRequest) (*pb.SimpleResponse, error) {
	ss := channel.ServerStreamFromContext(ctx)
	if ss == nil {
		return nil, status.Error(codes.Internal, "interop: no call in the handler's context")
	}
	// The echoed header goes out with the response, so that a compressor
	// can still be chosen below.
	if err := echoMetadata(ctx, ss.SetHeader, ss.SetTrailer); err != nil {
		return nil, err
	}
	if err := checkCompressed(ss, req.GetExpectCompressed(), "request"); err != nil {
		return nil, err
	}
	if err := echoStatus(req.GetResponseStatus()); err != nil {
		return nil, err
	}
	pl, err := newPayload(req.GetResponseType(), req.GetResponseSize())
	if err != nil {
		return nil, err
	}
	if rc := req.GetResponseCompressed(); rc != nil {
		name := "identity"
		if rc.GetValue() {
			name = compressorName
		}
		if err := ss.SetSendCompressor(name); err != nil {
			return nil, status.Errorf(codes.Internal, "interop: setting response compressor %q: %v", name, err)
		}
	}
	resp := &pb.SimpleResponse{Payload: pl}
	if req.GetFillServerId() {
		resp.ServerId = s.opts.ServerID
		resp.Hostname = s.opts.Hostname
	}
	return resp, nil
}

func (s *testServer) CacheableUnaryCall(ctx context.Context, req *pb.SimpleRequest) (*pb.SimpleResponse, error) {
	// The content of the request is ignored; the payload differs per call.
	ts := fmt.Appendf(nil, "%d", time.Now().UnixNano())
	return &pb.SimpleResponse{Payload: &pb.Payload{Type: pb.PayloadType_COMPRESSABLE, Body: ts}}, nil
}

func (s *testServer) StreamingOutputCall(req *pb.StreamingOutputCallRequest, stream pb.TestService_StreamingOutputCallServer) error {
	ctx := stream.Context()
	if err := echoStatus(req.GetResponseStatus()); err != nil {
		return err
	}
	rc := responseCompression{ss: channel.ServerStreamFromContext(ctx)}
	if err := rc.prepare(req.GetResponseParameters()); err != nil {
		return err
	}
	return respond(ctx, stream, &rc, req)
}

func (s *testServer) StreamingInputCall(stream pb.TestService_StreamingInputCallServer) error {
	ss := channel.ServerStreamFromContext(stream.Context())
	sum := 0
	for i := 0; ; i++ {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&pb.StreamingInputCallResponse{AggregatedPayloadSize: int32(sum)})
		}
		if err != nil {
			return err
		}
		if err := checkCompressed(ss, req.GetExpectCompressed(), fmt.Sprintf("request message %d", i+1)); err != nil {
			return err
		}
		sum += len(req.GetPayload().GetBody())
	}
}

func (s *testServer) FullDuplexCall(stream pb.TestService_FullDuplexCallServer) error {
	ctx := stream.Context()
	if err := echoMetadata(ctx, stream.SendHeader, func(md metadata.MD) error { stream.SetTrailer(md); return nil }); err != nil {
		return err
	}
	rc := responseCompression{ss: channel.ServerStreamFromContext(ctx)}
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := echoStatus(req.GetResponseStatus()); err != nil {
			return err
		}
		if err := rc.prepare(req.GetResponseParameters()); err != nil {
			return err
		}
		if err := respond(ctx, stream, &rc, req); err != nil {
			return err
		}
	}
}

func (s *testServer) HalfDuplexCall(stream pb.TestService_HalfDuplexCallServer) error {
	ctx := stream.Context()
	var reqs []*pb.StreamingOutputCallRequest
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := echoStatus(req.GetResponseStatus()); err != nil {
			return err
		}
		reqs = append(reqs, req)
	}
	rc := responseCompression{ss: channel.ServerStreamFromContext(ctx)}
	for _, req := range reqs {
		if err := rc.prepare(req.GetResponseParameters()); err != nil {
			return err
		}
	}
	for _, req := range reqs {
		if err := respond(ctx, stream, &rc, req); err != nil {
			return err
		}
	}
	return nil
}

// responseSender is the sending half of the streaming calls.
type responseSender interface {
	Send(*pb.StreamingOutputCallResponse) error
}

// respond sends one response per ResponseParameters of req, each after its
// interval and compressed as it asks.
func respond(ctx context.Context, stream responseSender, rc *responseCompression, req *pb.StreamingOutputCallRequest) error {
	for _, p := range req.GetResponseParameters() {
		if err := sleep(ctx, time.Duration(p.GetIntervalUs())*time.Microsecond); err != nil {
			return err
		}
		pl, err := newPayload(req.GetResponseType(), p.GetSize())
		if err != nil {
			return err
		}
		if err := rc.message(p.GetCompressed()); err != nil {
			return err
		}
		if err := stream.Send(&pb.StreamingOutputCallResponse{Payload: pl}); err != nil {
			return err
		}
	}
	return nil
}

// responseCompression sets the compression of a streaming call's responses
// message by message.
type responseCompression struct {
	ss     *channel.ServerStream
	gzipOn bool // the call's compressor is gzip
}

// prepare sets the call's compressor to gzip if any of params asks for a
// compressed message; it must run before the response headers are sent.
func (rc *responseCompression) prepare(params []*pb.ResponseParameters) error {
	if rc.gzipOn {
		return nil
	}
	for _, p := range params {
		if p.GetCompressed().GetValue() {
			if rc.ss == nil {
				return status.Error(codes.Internal, "interop: no call in the handler's context")
			}
			if err := rc.ss.SetSendCompressor(compressorName); err != nil {
				return status.Errorf(codes.Internal, "interop: cannot compress responses (the compressor must be set before the response headers are sent): %v", err)
			}
			rc.gzipOn = true
			return nil
		}
	}
	return nil
}

// message sets the compression of the next messages: want nil leaves it
// as it is (compressed if the call has a compressor).
func (rc *responseCompression) message(want *pb.BoolValue) error {
	if want == nil || rc.ss == nil {
		return nil
	}
	rc.ss.SetMessageCompression(want.GetValue())
	return nil
}

// checkCompressed checks the compressed flag of the message received last
// against expect (nil: no check).
func checkCompressed(ss *channel.ServerStream, expect *pb.BoolValue, what string) error {
	if expect == nil {
		return nil
	}
	if ss == nil {
		return status.Error(codes.Internal, "interop: no call in the handler's context")
	}
	got := ss.LastRecvCompressed()
	switch {
	case expect.GetValue() && !got:
		return status.Errorf(codes.InvalidArgument, "expected a compressed %s, got an uncompressed one", what)
	case !expect.GetValue() && got:
		return status.Errorf(codes.InvalidArgument, "expected an uncompressed %s, got a compressed one", what)
	}
	return nil
}

// echoMetadata sends back the echo keys of the call's incoming metadata:
// the initial one in the headers (through sendHeader), the trailing one in
// the trailers.
func echoMetadata(ctx context.Context, sendHeader, setTrailer func(metadata.MD) error) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(echoInitialKey); len(v) > 0 {
		if err := sendHeader(metadata.Pairs(echoInitialKey, v[0])); err != nil {
			return err
		}
	}
	if v := md.Get(echoTrailingKey); len(v) > 0 {
		if err := setTrailer(metadata.Pairs(echoTrailingKey, v[0])); err != nil {
			return err
		}
	}
	return nil
}

// echoStatus returns the error a request's response_status asks for, or nil.
func echoStatus(st *pb.EchoStatus) error {
	if st == nil || st.GetCode() == 0 {
		return nil
	}
	return status.Error(codes.Code(st.GetCode()), st.GetMessage())
}

// maxPayload bounds the payloads a request may ask for, so that a request
// cannot make the server allocate gigabytes.
const maxPayload = 64 << 20

func newPayload(t pb.PayloadType, size int32) (*pb.Payload, error) {
	if t != pb.PayloadType_COMPRESSABLE {
		return nil, status.Errorf(codes.InvalidArgument, "unsupported response type %v", t)
	}
	if size < 0 || size > maxPayload {
		return nil, status.Errorf(codes.InvalidArgument, "response size %d out of range [0, %d]", size, maxPayload)
	}
	return &pb.Payload{Type: t, Body: make([]byte, size)}, nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}
