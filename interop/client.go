package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
	"github.com/h2rpc/h2rpc/stub"
	"google.golang.org/protobuf/proto"
)

// Sizes the interop cases use, from the interop test descriptions.
const (
	largeRequestSize  = 271828
	largeResponseSize = 314159
)

var (
	// streamRequestSizes are the request payloads of client_streaming and
	// ping_pong; streamResponseSizes the responses of server_streaming and
	// ping_pong.
	streamRequestSizes  = []int{27182, 8, 1828, 45904}
	streamResponseSizes = []int{31415, 9, 2653, 58979}
)

// Full method names the compression cases call through the channel.
const (
	unaryCallMethod           = "/grpc.testing.TestService/UnaryCall"
	streamingInputCallMethod  = "/grpc.testing.TestService/StreamingInputCall"
	streamingOutputCallMethod = "/grpc.testing.TestService/StreamingOutputCall"
)

// Client is what the interop cases call through.
type Client struct {
	// Conn carries the calls of every case except the compression ones.
	Conn stub.ClientConnInterface
	// Channel carries the compression cases, which need to set and see the
	// compressed flag of single messages. It may be the connection under
	// Conn or another one to the same server.
	Channel *channel.ClientConn
	// NewConn opens a new connection to the server for each iteration of
	// channel_soak; closing it with the returned function releases it.
	NewConn func() (conn stub.ClientConnInterface, close func(), err error)
	// Soak configures rpc_soak and channel_soak.
	Soak SoakConfig
	// Log receives one line per soak iteration and a summary (nil: none).
	Log io.Writer
}

// Case is one interop test case.
type Case struct {
	// Name is the case's name in --test_case, e.g. "large_unary".
	Name string
	// Compression marks the cases that need a server that checks and sets
	// the compressed flag of single messages; grpc-go's interop server does
	// not offer that.
	Compression bool
	// Run runs the case and returns what differed from what it requires.
	Run func(ctx context.Context, c *Client) error
}

func tsc(c *Client) pb.TestServiceClient { return pb.NewTestServiceClient(c.Conn) }

// cases lists every case this package implements, in the order "all" runs
// them.
var cases = []Case{
	{Name: "empty_unary", Run: func(ctx context.Context, c *Client) error { return DoEmptyUnaryCall(ctx, tsc(c)) }},
	{Name: "large_unary", Run: func(ctx context.Context, c *Client) error { return DoLargeUnaryCall(ctx, tsc(c)) }},
	{Name: "client_streaming", Run: func(ctx context.Context, c *Client) error { return DoClientStreaming(ctx, tsc(c)) }},
	{Name: "server_streaming", Run: func(ctx context.Context, c *Client) error { return DoServerStreaming(ctx, tsc(c)) }},
	{Name: "ping_pong", Run: func(ctx context.Context, c *Client) error { return DoPingPong(ctx, tsc(c)) }},
	{Name: "empty_stream", Run: func(ctx context.Context, c *Client) error { return DoEmptyStream(ctx, tsc(c)) }},
	{Name: "timeout_on_sleeping_server", Run: func(ctx context.Context, c *Client) error { return DoTimeoutOnSleepingServer(ctx, tsc(c)) }},
	{Name: "cancel_after_begin", Run: func(ctx context.Context, c *Client) error { return DoCancelAfterBegin(ctx, tsc(c)) }},
	{Name: "cancel_after_first_response", Run: func(ctx context.Context, c *Client) error { return DoCancelAfterFirstResponse(ctx, tsc(c)) }},
	{Name: "status_code_and_message", Run: func(ctx context.Context, c *Client) error { return DoStatusCodeAndMessage(ctx, tsc(c)) }},
	{Name: "special_status_message", Run: func(ctx context.Context, c *Client) error { return DoSpecialStatusMessage(ctx, tsc(c)) }},
	{Name: "custom_metadata", Run: func(ctx context.Context, c *Client) error { return DoCustomMetadata(ctx, tsc(c)) }},
	{Name: "unimplemented_method", Run: func(ctx context.Context, c *Client) error { return DoUnimplementedMethod(ctx, c.Conn) }},
	{Name: "unimplemented_service", Run: func(ctx context.Context, c *Client) error {
		return DoUnimplementedService(ctx, pb.NewUnimplementedServiceClient(c.Conn))
	}},
	{Name: "rpc_soak", Run: func(ctx context.Context, c *Client) error {
		conn := func() (pb.TestServiceClient, func(), error) { return tsc(c), func() {}, nil }
		return DoSoakTest(ctx, c.Soak, conn, c.Log)
	}},
	{Name: "channel_soak", Run: func(ctx context.Context, c *Client) error {
		if c.NewConn == nil {
			return errors.New("channel_soak: the client cannot open new connections (Client.NewConn is nil)")
		}
		conn := func() (pb.TestServiceClient, func(), error) {
			cc, closeConn, err := c.NewConn()
			if err != nil {
				return nil, nil, err
			}
			return pb.NewTestServiceClient(cc), closeConn, nil
		}
		return DoSoakTest(ctx, c.Soak, conn, c.Log)
	}},
	{Name: "client_compressed_unary", Compression: true, Run: func(ctx context.Context, c *Client) error {
		return DoClientCompressedUnary(ctx, c.Channel)
	}},
	{Name: "server_compressed_unary", Compression: true, Run: func(ctx context.Context, c *Client) error {
		return DoServerCompressedUnary(ctx, c.Channel)
	}},
	{Name: "client_compressed_streaming", Compression: true, Run: func(ctx context.Context, c *Client) error {
		return DoClientCompressedStreaming(ctx, c.Channel)
	}},
	{Name: "server_compressed_streaming", Compression: true, Run: func(ctx context.Context, c *Client) error {
		return DoServerCompressedStreaming(ctx, c.Channel)
	}},
}

// Cases returns every case, in the order "all" runs them: the sixteen core
// cases first, then the four compression cases.
func Cases() []Case { return slices.Clone(cases) }

// LookupCase returns the case called name.
func LookupCase(name string) (Case, bool) {
	for _, c := range cases {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// CaseNames returns the names of every case, in the order of Cases.
func CaseNames() []string {
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.Name
	}
	return names
}

// DoEmptyUnaryCall: one EmptyCall; the response must be an Empty.
func DoEmptyUnaryCall(ctx context.Context, tc pb.TestServiceClient) error {
	reply, err := tc.EmptyCall(ctx, &pb.Empty{})
	if err != nil {
		return fmt.Errorf("EmptyCall failed: %w", err)
	}
	if reply == nil {
		return errors.New("EmptyCall returned no response")
	}
	if n := proto.Size(reply); n != 0 {
		return fmt.Errorf("EmptyCall response has %d bytes of fields, want none", n)
	}
	return nil
}

// largeUnaryRequest is the request of large_unary and the soak cases.
func largeUnaryRequest(reqSize, respSize int) *pb.SimpleRequest {
	return &pb.SimpleRequest{
		ResponseType: pb.PayloadType_COMPRESSABLE,
		ResponseSize: int32(respSize),
		Payload:      newClientPayload(reqSize),
	}
}

// DoLargeUnaryCall: a 271828-byte request asking for a 314159-byte response.
func DoLargeUnaryCall(ctx context.Context, tc pb.TestServiceClient) error {
	reply, err := tc.UnaryCall(ctx, largeUnaryRequest(largeRequestSize, largeResponseSize))
	if err != nil {
		return fmt.Errorf("UnaryCall failed: %w", err)
	}
	return checkPayload("UnaryCall response", reply.GetPayload(), largeResponseSize)
}

// DoClientStreaming: four requests of 27182, 8, 1828 and 45904 bytes; the
// response must count 74922 bytes.
func DoClientStreaming(ctx context.Context, tc pb.TestServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := tc.StreamingInputCall(ctx)
	if err != nil {
		return fmt.Errorf("StreamingInputCall failed to start: %w", err)
	}
	sum := 0
	for i, n := range streamRequestSizes {
		if err := stream.Send(&pb.StreamingInputCallRequest{Payload: newClientPayload(n)}); err != nil {
			return fmt.Errorf("StreamingInputCall: sending request %d: %w", i+1, sendError(stream, err))
		}
		sum += n
	}
	reply, err := stream.CloseAndRecv()
	if err != nil {
		return fmt.Errorf("StreamingInputCall failed: %w", err)
	}
	if got := reply.GetAggregatedPayloadSize(); got != int32(sum) {
		return fmt.Errorf("StreamingInputCall: aggregated_payload_size is %d, want %d", got, sum)
	}
	return nil
}

// DoServerStreaming: one request asking for responses of 31415, 9, 2653
// and 58979 bytes, in that order.
func DoServerStreaming(ctx context.Context, tc pb.TestServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req := &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE}
	for _, n := range streamResponseSizes {
		req.ResponseParameters = append(req.ResponseParameters, &pb.ResponseParameters{Size: int32(n)})
	}
	stream, err := tc.StreamingOutputCall(ctx, req)
	if err != nil {
		return fmt.Errorf("StreamingOutputCall failed to start: %w", err)
	}
	for i := 0; ; i++ {
		reply, err := stream.Recv()
		if err == io.EOF {
			if i != len(streamResponseSizes) {
				return fmt.Errorf("StreamingOutputCall ended after %d responses, want %d", i, len(streamResponseSizes))
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("StreamingOutputCall failed after %d responses: %w", i, err)
		}
		if i >= len(streamResponseSizes) {
			return fmt.Errorf("StreamingOutputCall sent more than %d responses", len(streamResponseSizes))
		}
		if err := checkPayload(fmt.Sprintf("StreamingOutputCall response %d", i+1), reply.GetPayload(), streamResponseSizes[i]); err != nil {
			return err
		}
	}
}

// DoPingPong: four request/response rounds on one FullDuplexCall, then a
// half-close; the call must end OK with no more responses.
func DoPingPong(ctx context.Context, tc pb.TestServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall failed to start: %w", err)
	}
	for i := range streamRequestSizes {
		req := &pb.StreamingOutputCallRequest{
			ResponseType:       pb.PayloadType_COMPRESSABLE,
			ResponseParameters: []*pb.ResponseParameters{{Size: int32(streamResponseSizes[i])}},
			Payload:            newClientPayload(streamRequestSizes[i]),
		}
		if err := stream.Send(req); err != nil {
			return fmt.Errorf("FullDuplexCall: sending request %d: %w", i+1, sendError(stream, err))
		}
		reply, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("FullDuplexCall: receiving response %d: %w", i+1, eofAsError(err))
		}
		if err := checkPayload(fmt.Sprintf("FullDuplexCall response %d", i+1), reply.GetPayload(), streamResponseSizes[i]); err != nil {
			return err
		}
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: CloseSend: %w", err)
	}
	return expectEnd("FullDuplexCall", stream)
}

// DoEmptyStream: a FullDuplexCall that half-closes at once; it must end OK
// without responses.
func DoEmptyStream(ctx context.Context, tc pb.TestServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall failed to start: %w", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: CloseSend: %w", err)
	}
	return expectEnd("FullDuplexCall", stream)
}

// DoTimeoutOnSleepingServer: a FullDuplexCall with a 1 ms deadline whose
// request asks for nothing; it must end with DEADLINE_EXCEEDED.
func DoTimeoutOnSleepingServer(ctx context.Context, tc pb.TestServiceClient) error {
	ctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	stream, err := tc.FullDuplexCall(ctx)
	if err != nil {
		if status.Code(err) == codes.DeadlineExceeded {
			return nil
		}
		return fmt.Errorf("FullDuplexCall failed to start with %v, want code DeadlineExceeded", err)
	}
	req := &pb.StreamingOutputCallRequest{ResponseType: pb.PayloadType_COMPRESSABLE, Payload: newClientPayload(27182)}
	if err := stream.Send(req); err != nil && err != io.EOF && status.Code(err) != codes.DeadlineExceeded {
		return fmt.Errorf("FullDuplexCall: Send failed with %v, want success, io.EOF or DeadlineExceeded", err)
	}
	_, err = stream.Recv()
	return checkCode("FullDuplexCall", err, codes.DeadlineExceeded)
}

// DoCancelAfterBegin: a StreamingInputCall cancelled before any message;
// it must end with CANCELLED.
func DoCancelAfterBegin(ctx context.Context, tc pb.TestServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := tc.StreamingInputCall(ctx)
	if err != nil {
		return fmt.Errorf("StreamingInputCall failed to start: %w", err)
	}
	cancel()
	_, err = stream.CloseAndRecv()
	return checkCode("StreamingInputCall", err, codes.Canceled)
}

// DoCancelAfterFirstResponse: a FullDuplexCall cancelled after its first
// response; it must end with CANCELLED.
func DoCancelAfterFirstResponse(ctx context.Context, tc pb.TestServiceClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall failed to start: %w", err)
	}
	req := &pb.StreamingOutputCallRequest{
		ResponseType:       pb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*pb.ResponseParameters{{Size: 31415}},
		Payload:            newClientPayload(27182),
	}
	if err := stream.Send(req); err != nil {
		return fmt.Errorf("FullDuplexCall: Send: %w", sendError(stream, err))
	}
	if _, err := stream.Recv(); err != nil {
		return fmt.Errorf("FullDuplexCall: receiving the first response: %w", eofAsError(err))
	}
	cancel()
	_, err = stream.Recv()
	return checkCode("FullDuplexCall", err, codes.Canceled)
}

// DoStatusCodeAndMessage: UnaryCall and FullDuplexCall asking for status
// UNKNOWN "test status message"; both must end with exactly that.
func DoStatusCodeAndMessage(ctx context.Context, tc pb.TestServiceClient) error {
	const code, msg = 2, "test status message"
	echo := &pb.EchoStatus{Code: code, Message: msg}
	_, err := tc.UnaryCall(ctx, &pb.SimpleRequest{ResponseStatus: echo})
	if err := checkStatus("UnaryCall", err, code, msg); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall failed to start: %w", err)
	}
	if err := stream.Send(&pb.StreamingOutputCallRequest{ResponseStatus: echo}); err != nil && err != io.EOF {
		return fmt.Errorf("FullDuplexCall: Send: %w", err)
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: CloseSend: %w", err)
	}
	_, err = stream.Recv()
	return checkStatus("FullDuplexCall", err, code, msg)
}

// DoSpecialStatusMessage: a UnaryCall asking for a status message with
// whitespace and Unicode (BMP and not); it must come back unchanged.
func DoSpecialStatusMessage(ctx context.Context, tc pb.TestServiceClient) error {
	const code, msg = 2, "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := tc.UnaryCall(ctx, &pb.SimpleRequest{ResponseStatus: &pb.EchoStatus{Code: code, Message: msg}})
	return checkStatus("UnaryCall", err, code, msg)
}

// Values of custom_metadata.
const (
	echoInitialValue  = "test_initial_metadata_value"
	echoTrailingValue = "\xab\xab\xab"
)

// DoCustomMetadata: UnaryCall and FullDuplexCall with the echo keys set;
// the initial value must come back in the headers and the binary trailing
// value in the trailers of both.
func DoCustomMetadata(ctx context.Context, tc pb.TestServiceClient) error {
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs(echoInitialKey, echoInitialValue, echoTrailingKey, echoTrailingValue))
	var header, trailer metadata.MD
	reply, err := tc.UnaryCall(ctx, largeUnaryRequest(largeRequestSize, largeResponseSize), stub.Header(&header), stub.Trailer(&trailer))
	if err != nil {
		return fmt.Errorf("UnaryCall failed: %w", err)
	}
	if err := checkPayload("UnaryCall response", reply.GetPayload(), largeResponseSize); err != nil {
		return err
	}
	if err := checkEchoed("UnaryCall", header, trailer); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := tc.FullDuplexCall(ctx)
	if err != nil {
		return fmt.Errorf("FullDuplexCall failed to start: %w", err)
	}
	req := &pb.StreamingOutputCallRequest{
		ResponseType:       pb.PayloadType_COMPRESSABLE,
		ResponseParameters: []*pb.ResponseParameters{{Size: largeResponseSize}},
		Payload:            newClientPayload(largeRequestSize),
	}
	if err := stream.Send(req); err != nil {
		return fmt.Errorf("FullDuplexCall: Send: %w", sendError(stream, err))
	}
	if err := stream.CloseSend(); err != nil {
		return fmt.Errorf("FullDuplexCall: CloseSend: %w", err)
	}
	header, err = stream.Header()
	if err != nil {
		return fmt.Errorf("FullDuplexCall: Header: %w", err)
	}
	r, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("FullDuplexCall: receiving the response: %w", eofAsError(err))
	}
	if err := checkPayload("FullDuplexCall response", r.GetPayload(), largeResponseSize); err != nil {
		return err
	}
	if err := expectEnd("FullDuplexCall", stream); err != nil {
		return err
	}
	return checkEchoed("FullDuplexCall", header, stream.Trailer())
}

// DoUnimplementedMethod: TestService/UnimplementedCall must fail with
// UNIMPLEMENTED.
func DoUnimplementedMethod(ctx context.Context, cc stub.ClientConnInterface) error {
	_, err := pb.NewTestServiceClient(cc).UnimplementedCall(ctx, &pb.Empty{})
	return checkCode("TestService/UnimplementedCall", err, codes.Unimplemented)
}

// DoUnimplementedService: UnimplementedService/UnimplementedCall must fail
// with UNIMPLEMENTED.
func DoUnimplementedService(ctx context.Context, uc pb.UnimplementedServiceClient) error {
	_, err := uc.UnimplementedCall(ctx, &pb.Empty{})
	return checkCode("UnimplementedService/UnimplementedCall", err, codes.Unimplemented)
}

// newClientPayload returns a payload of n zero bytes.
func newClientPayload(n int) *pb.Payload {
	return &pb.Payload{Type: pb.PayloadType_COMPRESSABLE, Body: make([]byte, n)}
}

// checkPayload checks that p is a COMPRESSABLE payload of size zero bytes.
func checkPayload(what string, p *pb.Payload, size int) error {
	if p == nil {
		return fmt.Errorf("%s has no payload, want %d bytes", what, size)
	}
	if p.GetType() != pb.PayloadType_COMPRESSABLE {
		return fmt.Errorf("%s payload type is %v, want COMPRESSABLE", what, p.GetType())
	}
	if n := len(p.GetBody()); n != size {
		return fmt.Errorf("%s payload is %d bytes, want %d", what, n, size)
	}
	for i, b := range p.GetBody() {
		if b != 0 {
			return fmt.Errorf("%s payload byte %d is %#x, want zero", what, i, b)
		}
	}
	return nil
}

// checkCode checks that a call ended with status code want.
func checkCode(what string, err error, want codes.Code) error {
	if status.Code(err) != want || err == nil || err == io.EOF {
		return fmt.Errorf("%s ended with %v, want code %v", what, describe(err), want)
	}
	return nil
}

// checkStatus checks that err carries exactly code and msg.
func checkStatus(what string, err error, code codes.Code, msg string) error {
	if err == nil {
		return fmt.Errorf("%s succeeded, want status %v %q", what, code, msg)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s failed with %v, not a status error; want status %v %q", what, err, code, msg)
	}
	if st.Code() != code || st.Message() != msg {
		return fmt.Errorf("%s ended with status %v %q, want %v %q", what, st.Code(), st.Message(), code, msg)
	}
	return nil
}

// checkEchoed checks the echoed custom metadata.
func checkEchoed(what string, header, trailer metadata.MD) error {
	if v := header.Get(echoInitialKey); len(v) != 1 || v[0] != echoInitialValue {
		return fmt.Errorf("%s: header %s is %q, want [%q]", what, echoInitialKey, v, echoInitialValue)
	}
	if v := trailer.Get(echoTrailingKey); len(v) != 1 || v[0] != echoTrailingValue {
		return fmt.Errorf("%s: trailer %s is %q, want [%q]", what, echoTrailingKey, v, echoTrailingValue)
	}
	return nil
}

// recver is the receiving half of a client stream.
type recver[T any] interface {
	Recv() (*T, error)
}

// expectEnd checks that a stream ends OK without more messages.
func expectEnd[T any](what string, s recver[T]) error {
	_, err := s.Recv()
	switch {
	case err == io.EOF:
		return nil
	case err == nil:
		return fmt.Errorf("%s sent a response more than asked for", what)
	default:
		return fmt.Errorf("%s ended with %w, want OK", what, err)
	}
}

// sendError turns the io.EOF of a Send, which means the server ended the
// call, into the call's status.
func sendError(s interface{ RecvMsg(any) error }, err error) error {
	if err != io.EOF {
		return err
	}
	for {
		var m pb.StreamingOutputCallResponse
		if rerr := s.RecvMsg(&m); rerr != nil {
			if rerr == io.EOF {
				return errors.New("the server ended the call with OK before all requests were sent")
			}
			return rerr
		}
	}
}

// eofAsError turns an early io.EOF from Recv into an error that says so.
func eofAsError(err error) error {
	if err == io.EOF {
		return errors.New("the call ended with OK without it")
	}
	return err
}

// describe formats a call's outcome for an error message.
func describe(err error) string {
	if err == nil {
		return "success"
	}
	if err == io.EOF {
		return "OK"
	}
	if st, ok := status.FromError(err); ok {
		return fmt.Sprintf("status %v %q", st.Code(), st.Message())
	}
	return strings.TrimSpace(err.Error())
}
