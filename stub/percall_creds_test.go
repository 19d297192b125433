package stub_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/credentials/insecure"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	pb "github.com/h2rpc/h2rpc/internal/testpb"
	"github.com/h2rpc/h2rpc/stub"
)

// keyCreds sends k: v, records what it was asked, and fails with err when
// set.
type keyCreds struct {
	v      string
	secure bool
	err    error
	uri    atomic.Value // string
	ri     atomic.Value // credentials.RequestInfo
}

func (c *keyCreds) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	if len(uri) == 1 {
		c.uri.Store(uri[0])
	}
	if ri, ok := credentials.RequestInfoFromContext(ctx); ok {
		c.ri.Store(ri)
	}
	if c.err != nil {
		return nil, c.err
	}
	return map[string]string{"K": c.v}, nil
}

func (c *keyCreds) RequireTransportSecurity() bool { return c.secure }

// countCalls is a server interceptor that counts the calls that reach the
// server.
func countCalls(n *atomic.Int32) stub.ServerOption {
	return stub.UnaryInterceptor(func(ctx context.Context, req any, info *stub.UnaryServerInfo, h stub.UnaryHandler) (any, error) {
		n.Add(1)
		return h(ctx, req)
	})
}

func TestPerRPCCredentialsOverTLS(t *testing.T) {
	leakcheck.Check(t)
	dial := &keyCreds{v: "dial", secure: true}
	e := newEnv(t, envConfig{tls: true, copts: []stub.DialOption{stub.WithPerRPCCredentials(dial)}})
	ctx := ctxT(t)
	r, err := e.client.Unary(ctx, &pb.Request{Payload: "md"})
	if err != nil {
		t.Fatal(err)
	}
	if r.GetPayload() != "dial|[]" {
		t.Fatalf("server saw k=%q, want the dial option's value", r.GetPayload())
	}
	// The call option's metadata follows the dial option's.
	call := &keyCreds{v: "call", secure: true}
	ctx = metadata.AppendToOutgoingContext(ctx, "k", "ctx")
	if r, err = e.client.Unary(ctx, &pb.Request{Payload: "md"}, stub.PerRPCCredentials(call)); err != nil {
		t.Fatal(err)
	}
	if r.GetPayload() != "ctx,dial,call|[]" {
		t.Fatalf("server saw k=%q, want ctx,dial,call", r.GetPayload())
	}
	if got, want := call.uri.Load(), "https://"+e.addr+"/h2rpc.gentest.Echo"; got != want {
		t.Fatalf("uri %v, want %s", got, want)
	}
	ri := call.ri.Load().(credentials.RequestInfo)
	if ri.Method != pb.Echo_Unary_FullMethodName || credentials.CheckSecurityLevel(ri.AuthInfo, credentials.PrivacyAndIntegrity) != nil || ri.AuthInfo.AuthType() != "tls" {
		t.Fatalf("RequestInfo %+v", ri)
	}
	// Streams get them too.
	st, err := e.client.ServerStream(ctxT(t), &pb.Request{Payload: "x", Count: ptr(int32(1))}, stub.PerRPCCredentials(call))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	if ri := call.ri.Load().(credentials.RequestInfo); ri.Method != pb.Echo_ServerStream_FullMethodName {
		t.Fatalf("stream's RequestInfo %+v", ri)
	}
}

// TestSecureCredentialsNeverLeavePlaintext checks that credentials that
// require transport security are refused on a plaintext client: at
// NewClient as a dial option, and as a call option with UNAUTHENTICATED,
// without the call reaching the server or the credentials being asked.
func TestSecureCredentialsNeverLeavePlaintext(t *testing.T) {
	leakcheck.Check(t)
	_, err := stub.NewClient("127.0.0.1:1", stub.WithTransportCredentials(insecure.NewCredentials()),
		stub.WithPerRPCCredentials(&keyCreds{v: "x", secure: true}))
	if err == nil || err.Error() != "grpc: the credentials require transport level security (use grpc.WithTransportCredentials() to set)" {
		t.Fatalf("NewClient: %v", err)
	}

	var calls atomic.Int32
	e := newEnv(t, envConfig{sopts: []stub.ServerOption{countCalls(&calls)}})
	secure := &keyCreds{v: "x", secure: true}
	_, err = e.client.Unary(ctxT(t), &pb.Request{Payload: "md"}, stub.PerRPCCredentials(secure))
	wantCode(t, err, codes.Unauthenticated, "transport: cannot send secure credentials on an insecure connection")
	_, err = e.client.ServerStream(ctxT(t), &pb.Request{Payload: "md"}, stub.PerRPCCredentials(secure))
	wantCode(t, err, codes.Unauthenticated, "transport: cannot send secure credentials on an insecure connection")
	if calls.Load() != 0 || secure.uri.Load() != nil {
		t.Fatalf("%d calls reached the server; credentials asked: %v", calls.Load(), secure.uri.Load() != nil)
	}
	// Credentials that do not need security are sent over plaintext.
	r, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "md"}, stub.PerRPCCredentials(&keyCreds{v: "plain"}))
	if err != nil || r.GetPayload() != "plain|[]" {
		t.Fatalf("plaintext credentials: %v, %v", r, err)
	}
	ri := credentials.RequestInfo{}
	if err := credentials.CheckSecurityLevel(ri.AuthInfo, credentials.NoSecurity); err == nil {
		t.Fatal("CheckSecurityLevel(nil) passed")
	}
}

func TestPerRPCCredentialsErrors(t *testing.T) {
	leakcheck.Check(t)
	var calls atomic.Int32
	e := newEnv(t, envConfig{sopts: []stub.ServerOption{countCalls(&calls)}})
	for _, c := range []struct {
		err  error
		code codes.Code
	}{
		{errors.New("token service down"), codes.Unavailable},
		{status.Error(codes.PermissionDenied, "no"), codes.PermissionDenied},
		{status.Error(codes.Unauthenticated, "expired"), codes.Unauthenticated},
		{status.Error(codes.NotFound, "gone"), codes.Internal},
		{status.Error(codes.InvalidArgument, "bad"), codes.Internal},
	} {
		_, err := e.client.Unary(ctxT(t), &pb.Request{Payload: "md"}, stub.PerRPCCredentials(&keyCreds{err: c.err}))
		if status.Code(err) != c.code {
			t.Errorf("credentials failing with %v: call failed with %v, want %v", c.err, err, c.code)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("%d calls reached the server", calls.Load())
	}
}
