package grpcgo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	ginsecure "google.golang.org/grpc/credentials/insecure"
	gmetadata "google.golang.org/grpc/metadata"
	gstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/faultsvc"
	"github.com/h2rpc/h2rpc/stub"
)

// The service configs of the differential retry test.
const (
	scRetry = `{"methodConfig": [{"name": [{"service": "faultsvc.Fault"}], "retryPolicy": {
		"maxAttempts": %d, "initialBackoff": "0.01s", "maxBackoff": "0.02s", "backoffMultiplier": 2,
		"retryableStatusCodes": [%s]}}]%s}`
	throttle = `, "retryThrottling": {"maxTokens": %d, "tokenRatio": %s}`
)

func retrySC(attempts int, codes string) string { return fmt.Sprintf(scRetry, attempts, codes, "") }

// retryCase is a service config and the scripts of the calls made, in
// order, on one new client of each stack.
type retryCase struct {
	name    string
	sc      string
	stream  bool
	scripts []string
}

var retryCases = []retryCase{
	{name: "no service config", sc: `{}`, scripts: []string{"UNAVAILABLE,OK"}},
	{name: "retried to success", sc: retrySC(3, `"UNAVAILABLE"`), scripts: []string{"UNAVAILABLE,UNAVAILABLE,OK"}},
	{name: "attempts exhausted", sc: retrySC(3, `"UNAVAILABLE"`), scripts: []string{"UNAVAILABLE"}},
	{name: "maxAttempts capped at 5", sc: retrySC(8, `"UNAVAILABLE"`), scripts: []string{"UNAVAILABLE"}},
	{name: "two attempts", sc: retrySC(2, `"UNAVAILABLE"`), scripts: []string{"UNAVAILABLE,OK", "UNAVAILABLE,UNAVAILABLE,OK"}},
	{name: "code not retryable", sc: retrySC(3, `"UNAVAILABLE"`), scripts: []string{"INTERNAL,OK"}},
	{name: "retryable then not", sc: retrySC(4, `"UNAVAILABLE"`), scripts: []string{"UNAVAILABLE,ABORTED,OK"}},
	{name: "two retryable codes", sc: retrySC(4, `"UNAVAILABLE", "ABORTED"`), scripts: []string{"UNAVAILABLE,ABORTED,OK"}},
	{name: "codes by number", sc: retrySC(3, `14, 10`), scripts: []string{"ABORTED,UNAVAILABLE,OK"}},
	{name: "a server's own DEADLINE_EXCEEDED", sc: retrySC(3, `"DEADLINE_EXCEEDED"`), scripts: []string{"DEADLINE_EXCEEDED,OK"}},
	{name: "committed by headers", sc: retrySC(3, `"UNAVAILABLE"`), scripts: []string{"headers;UNAVAILABLE,OK"}},
	{name: "pushback says stop", sc: retrySC(3, `"UNAVAILABLE"`), scripts: []string{"UNAVAILABLE;pushback=-1,OK"}},
	{name: "pushback unparseable", sc: retrySC(3, `"UNAVAILABLE"`), scripts: []string{"UNAVAILABLE;pushback=later,OK"}},
	{name: "pushback then success", sc: retrySC(3, `"UNAVAILABLE"`), scripts: []string{"UNAVAILABLE;pushback=15,OK"}},
	{name: "pushback then backoff", sc: retrySC(4, `"UNAVAILABLE"`), scripts: []string{"UNAVAILABLE;pushback=15,UNAVAILABLE,OK"}},
	{name: "pushback on a code not retryable", sc: retrySC(3, `"UNAVAILABLE"`), scripts: []string{"INTERNAL;pushback=5,OK"}},
	{name: "whole-service name", sc: `{"methodConfig": [{"name": [{"service": "faultsvc.Fault"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "0.01s", "maxBackoff": "0.01s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, scripts: []string{"UNAVAILABLE,OK"}},
	{name: "other method's config", sc: `{"methodConfig": [{"name": [{"service": "faultsvc.Fault", "method": "Stream"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "0.01s", "maxBackoff": "0.01s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, scripts: []string{"UNAVAILABLE,OK"}},
	{name: "method name beats service", sc: `{"methodConfig": [
		{"name": [{"service": "faultsvc.Fault", "method": "Unary"}], "retryPolicy": {"maxAttempts": 2, "initialBackoff": "0.01s", "maxBackoff": "0.01s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}},
		{"name": [{"service": "faultsvc.Fault"}], "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.01s", "maxBackoff": "0.01s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, scripts: []string{"UNAVAILABLE"}},
	{name: "default name", sc: `{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, scripts: []string{"UNAVAILABLE"}},
	{name: "timeout", sc: `{"methodConfig": [{"name": [{}], "timeout": "0.05s"}]}`, scripts: []string{"hang"}},
	{name: "timeout covers attempts", sc: `{"methodConfig": [{"name": [{}], "timeout": "0.3s", "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.01s", "maxBackoff": "0.01s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`, scripts: []string{"UNAVAILABLE,delay=1000;OK"}},
	{name: "throttled", sc: fmt.Sprintf(scRetry, 2, `"UNAVAILABLE"`, fmt.Sprintf(throttle, 10, "0.5")),
		scripts: []string{"UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE", "OK", "OK", "OK", "OK", "OK", "OK", "UNAVAILABLE", "UNAVAILABLE"}},
	{name: "pushback counts against the throttle", sc: fmt.Sprintf(scRetry, 3, `"UNAVAILABLE"`, fmt.Sprintf(throttle, 4, "1")),
		scripts: []string{"UNAVAILABLE;pushback=-1", "UNAVAILABLE;pushback=-1", "UNAVAILABLE,OK", "OK", "UNAVAILABLE,OK"}},
	{name: "stream replayed", sc: retrySC(3, `"UNAVAILABLE"`), stream: true, scripts: []string{"UNAVAILABLE,UNAVAILABLE,OK"}},
	{name: "stream committed by headers", sc: retrySC(3, `"UNAVAILABLE"`), stream: true, scripts: []string{"headers;UNAVAILABLE,OK"}},
	{name: "stream committed by a message", sc: retrySC(3, `"UNAVAILABLE"`), stream: true, scripts: []string{"message;UNAVAILABLE,OK"}},
	{name: "stream exhausted", sc: retrySC(3, `"UNAVAILABLE"`), stream: true, scripts: []string{"UNAVAILABLE"}},
}

// callResult is what one call did, as the fault server saw it and as the
// client ended it.
type callResult struct {
	code     string
	previous []string
	requests [][]string
}

func (r callResult) String() string {
	return fmt.Sprintf("%s after attempts with grpc-previous-rpc-attempts %q, requests %q", r.code, r.previous, r.requests)
}

var diffSeq atomic.Int64

func attemptsOf(log *faultsvc.Log, id string, code string) callResult {
	r := callResult{code: code}
	for _, a := range log.Attempts(id) {
		r.previous = append(r.previous, a.Previous)
		r.requests = append(r.requests, a.Requests)
	}
	return r
}

// runOurs makes a case's calls through an h2rpc client.
func runOurs(t *testing.T, addr string, log *faultsvc.Log, c retryCase) []callResult {
	cc, err := stub.NewClient("passthrough:///"+addr, stub.WithTransportCredentials(insecure.NewCredentials()), stub.WithDefaultServiceConfig(c.sc))
	if err != nil {
		t.Fatalf("h2rpc: %v", err)
	}
	defer cc.Close()
	var out []callResult
	for _, script := range c.scripts {
		id := fmt.Sprint("h", diffSeq.Add(1))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ctx = metadata.AppendToOutgoingContext(ctx, "fault-id", id, "fault-script", script)
		var err error
		if c.stream {
			err = streamOurs(ctx, cc)
		} else {
			err = cc.Invoke(ctx, faultsvc.UnaryMethod, wrapperspb.String("x"), new(wrapperspb.StringValue))
		}
		cancel()
		out = append(out, attemptsOf(log, id, status.Code(err).String()))
	}
	return out
}

func streamOurs(ctx context.Context, cc *stub.ClientConn) error {
	s, err := cc.NewStream(ctx, &stub.StreamDesc{ServerStreams: true, ClientStreams: true}, faultsvc.StreamMethod)
	if err != nil {
		return err
	}
	for _, m := range []string{"a", "b", "c"} {
		if err := s.SendMsg(wrapperspb.String(m)); err != nil {
			break
		}
	}
	s.CloseSend()
	for {
		if err := s.RecvMsg(new(wrapperspb.StringValue)); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// runGRPCGo makes a case's calls through a grpc-go client.
func runGRPCGo(t *testing.T, addr string, log *faultsvc.Log, c retryCase) []callResult {
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(ginsecure.NewCredentials()), grpc.WithDefaultServiceConfig(c.sc))
	if err != nil {
		t.Fatalf("grpc-go: %v", err)
	}
	defer cc.Close()
	var out []callResult
	for _, script := range c.scripts {
		id := fmt.Sprint("g", diffSeq.Add(1))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ctx = gmetadata.AppendToOutgoingContext(ctx, "fault-id", id, "fault-script", script)
		var err error
		if c.stream {
			err = streamGRPCGo(ctx, cc)
		} else {
			err = cc.Invoke(ctx, faultsvc.UnaryMethod, wrapperspb.String("x"), new(wrapperspb.StringValue))
		}
		cancel()
		out = append(out, attemptsOf(log, id, gstatus.Code(err).String()))
	}
	return out
}

func streamGRPCGo(ctx context.Context, cc *grpc.ClientConn) error {
	s, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, faultsvc.StreamMethod)
	if err != nil {
		return err
	}
	for _, m := range []string{"a", "b", "c"} {
		if err := s.SendMsg(wrapperspb.String(m)); err != nil {
			break
		}
	}
	s.CloseSend()
	for {
		if err := s.RecvMsg(new(wrapperspb.StringValue)); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// TestRetryMatchesGRPCGo: each case's calls, through grpc-go's client and
// through ours against the same fault-injecting server, make the same
// attempts, with the same grpc-previous-rpc-attempts values and the same
// replayed messages, and end with the same status.
func TestRetryMatchesGRPCGo(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &faultsvc.Log{}
	srv := stub.NewServer()
	(&faultsvc.Server{Name: "s", Log: log}).Register(srv)
	go srv.Serve(lis)
	defer srv.Stop()
	addr := lis.Addr().String()
	if len(retryCases) < 20 {
		t.Fatalf("only %d cases", len(retryCases))
	}
	for _, c := range retryCases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			theirs := runGRPCGo(t, addr, log, c)
			ours := runOurs(t, addr, log, c)
			for i := range c.scripts {
				if ours[i].String() != theirs[i].String() {
					t.Errorf("call %d (%q):\n h2rpc:   %v\n grpc-go: %v", i+1, c.scripts[i], ours[i], theirs[i])
				}
			}
		})
	}
}

// TestServiceConfigsRejectedLikeGRPCGo: configs that grpc-go refuses, we
// refuse, and the other way round, but for the known differences, where
// ours follows gRFC A6 and protobuf's JSON mapping: grpc-go checks
// retryThrottling only when the config has a methodConfig list, and reads
// a size limit given as a JSON string (as protobuf's JSON writes 64-bit
// integers) as an error.
func TestServiceConfigsRejectedLikeGRPCGo(t *testing.T) {
	rp := `{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": %s, "initialBackoff": %s, "maxBackoff": "1s", "backoffMultiplier": %s, "retryableStatusCodes": [%s]}}]}`
	for _, c := range []struct {
		sc string
		// oursOnly: a config only one stack accepts, on purpose; "" for
		// none.
		oursOnly string
	}{
		{sc: fmt.Sprintf(rp, "1", `"1s"`, "1", `"UNAVAILABLE"`)},
		{sc: fmt.Sprintf(rp, "2", `"-1s"`, "1", `"UNAVAILABLE"`)},
		{sc: fmt.Sprintf(rp, "2", `"0s"`, "1", `"UNAVAILABLE"`)},
		{sc: fmt.Sprintf(rp, "2", `"1s"`, "0", `"UNAVAILABLE"`)},
		{sc: fmt.Sprintf(rp, "2", `"1s"`, "1", `"UNAVAILBLE"`)},
		{sc: fmt.Sprintf(rp, "2", `"1s"`, "1", `"unavailable"`)},
		{sc: fmt.Sprintf(rp, "2", `"1s"`, "1", `17`)},
		{sc: fmt.Sprintf(rp, "2", `"1s"`, "1", ``)},
		{sc: fmt.Sprintf(rp, "2", `"1"`, "1", `"UNAVAILABLE"`)},
		{sc: fmt.Sprintf(rp, "2", `"1s"`, "1", `"UNAVAILABLE"`)},
		{sc: `{"methodConfig": [], "retryThrottling": {"maxTokens": 0, "tokenRatio": 1}}`},
		{sc: `{"methodConfig": [], "retryThrottling": {"maxTokens": 1001, "tokenRatio": 1}}`},
		{sc: `{"methodConfig": [], "retryThrottling": {"maxTokens": 10, "tokenRatio": 0}}`},
		{sc: `{"methodConfig": [], "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}}`},
		{sc: `{"retryThrottling": {"maxTokens": 0, "tokenRatio": 1}}`, oursOnly: "rejects"},
		{sc: `{"retryThrottling": {"maxTokens": 10, "tokenRatio": -2}}`, oursOnly: "rejects"},
		{sc: `{"methodConfig": [{"name": [{"method": "m"}]}]}`},
		{sc: `{"methodConfig": [{"name": [{"service": "s"}]}, {"name": [{"service": "s"}]}]}`},
		{sc: `{"methodConfig": [{"name": [{"service": "s"}], "timeout": "1.5s", "waitForReady": true, "maxRequestMessageBytes": 10, "maxResponseMessageBytes": 20}]}`},
		{sc: `{"methodConfig": [{"name": [{"service": "s"}], "maxResponseMessageBytes": "20"}]}`, oursOnly: "accepts"},
		{sc: `{"methodConfig": [{"name": [{"service": "s"}], "timeout": "1.5"}]}`},
	} {
		_, gerr := grpc.NewClient("passthrough:///x", grpc.WithTransportCredentials(ginsecure.NewCredentials()), grpc.WithDefaultServiceConfig(c.sc))
		_, err := stub.NewClient("passthrough:///x", stub.WithTransportCredentials(insecure.NewCredentials()), stub.WithDefaultServiceConfig(c.sc))
		switch c.oursOnly {
		case "":
			if (gerr == nil) != (err == nil) {
				t.Errorf("%s:\n h2rpc:   %v\n grpc-go: %v", c.sc, err, gerr)
			}
		case "rejects":
			if err == nil || gerr != nil {
				t.Errorf("%s: want ours to reject and grpc-go to accept:\n h2rpc:   %v\n grpc-go: %v", c.sc, err, gerr)
			}
		case "accepts":
			if err != nil || gerr == nil {
				t.Errorf("%s: want ours to accept and grpc-go to reject:\n h2rpc:   %v\n grpc-go: %v", c.sc, err, gerr)
			}
		}
	}
}
