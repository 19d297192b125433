package stub

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/credentials"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
)

// errInsecurePerRPC is NewClient's error for per-RPC credentials that
// require transport security on a plaintext client.
var errInsecurePerRPC = errors.New("grpc: the credentials require transport level security (use grpc.WithTransportCredentials() to set)")

// WithPerRPCCredentials attaches c's metadata to every call of the client,
// before the metadata of a PerRPCCredentials call option. NewClient fails
// when c requires transport security and the transport credentials are
// plaintext.
func WithPerRPCCredentials(c credentials.PerRPCCredentials) DialOption {
	return func(o *dialOptions) { o.perRPC = append(o.perRPC, c) }
}

// PerRPCCredentials attaches c's metadata to one call. When c requires
// transport security and the client is plaintext, the call fails with
// UNAUTHENTICATED and nothing is sent.
func PerRPCCredentials(c credentials.PerRPCCredentials) CallOption {
	return PerRPCCredsCallOption{Creds: c}
}

// PerRPCCredsCallOption is the CallOption made by PerRPCCredentials.
type PerRPCCredsCallOption struct{ Creds credentials.PerRPCCredentials }

func (o PerRPCCredsCallOption) apply(ci callInfo) callInfo { ci.creds = o.Creds; return ci }

// callCreds is what a ClientConn knows to run per-RPC credentials: those
// of the dial options and the security of its connections.
type callCreds struct {
	perRPC []credentials.PerRPCCredentials
	level  credentials.SecurityLevel
	auth   connAuthInfo // the RequestInfo's AuthInfo
}

// connAuthInfo is the AuthInfo per-RPC credentials see: the security
// protocol of the client's transport credentials and its level.
type connAuthInfo struct {
	credentials.CommonAuthInfo
	protocol string
}

// AuthType returns the transport credentials' security protocol.
func (a connAuthInfo) AuthType() string { return a.protocol }

// newCallCreds checks the dial options' per-RPC credentials against the
// transport credentials.
func newCallCreds(o *dialOptions) (callCreds, error) {
	c := callCreds{perRPC: o.perRPC, level: credentials.NoSecurity}
	if o.transport != nil {
		c.auth.protocol = o.transport.Info().SecurityProtocol
		if c.auth.protocol != "insecure" {
			c.level = credentials.PrivacyAndIntegrity
		}
	}
	c.auth.SecurityLevel = c.level
	for _, p := range o.perRPC {
		if p.RequireTransportSecurity() && c.level < credentials.PrivacyAndIntegrity {
			return c, errInsecurePerRPC
		}
	}
	return c, nil
}

// withCallCreds returns ctx with the metadata of the client's and the
// call's per-RPC credentials (call, when not nil) added to its outgoing
// metadata, or the error that fails the call before it is sent.
func (cc *ClientConn) withCallCreds(ctx context.Context, method string, call credentials.PerRPCCredentials) (context.Context, error) {
	if len(cc.creds.perRPC) == 0 && call == nil {
		return ctx, nil
	}
	ri := credentials.RequestInfo{Method: method, AuthInfo: cc.creds.auth}
	rctx := credentials.NewContextWithRequestInfo(ctx, ri)
	uri := audience(cc.cc.Authority(), method)
	var kv []string
	add := func(c credentials.PerRPCCredentials) error {
		if c.RequireTransportSecurity() && cc.creds.level < credentials.PrivacyAndIntegrity {
			return status.Error(codes.Unauthenticated, "transport: cannot send secure credentials on an insecure connection")
		}
		md, err := c.GetRequestMetadata(rctx, uri)
		if err != nil {
			return perRPCError(err)
		}
		for k, v := range md {
			kv = append(kv, strings.ToLower(k), v)
		}
		return nil
	}
	for _, c := range cc.creds.perRPC {
		if err := add(c); err != nil {
			return nil, err
		}
	}
	if call != nil {
		if err := add(call); err != nil {
			return nil, err
		}
	}
	if len(kv) == 0 {
		return ctx, nil
	}
	return metadata.AppendToOutgoingContext(ctx, kv...), nil
}

// perRPCError is the status a call fails with when its per-RPC credentials
// fail: their own status, except the codes gRFC A54 keeps for the server
// (which become INTERNAL), else UNAVAILABLE.
func perRPCError(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return status.Errorf(codes.Unavailable, "transport: per-RPC creds failed due to error: %v", err)
	}
	switch st.Code() {
	case codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.FailedPrecondition,
		codes.Aborted, codes.OutOfRange, codes.DataLoss:
		return status.Errorf(codes.Internal, "transport: received per-RPC creds error with illegal status: %v", err)
	}
	return err
}

// audience is the URI per-RPC credentials get for a call of method on
// authority: "https://" the authority (without the port when it is 443) and
// the service's name.
func audience(authority, method string) string {
	if host, port, err := net.SplitHostPort(authority); err == nil && port == "443" {
		authority = host
		if strings.Contains(host, ":") {
			authority = "[" + host + "]"
		}
	}
	svc := method
	if i := strings.LastIndexByte(method, '/'); i > 0 {
		svc = method[:i]
	}
	if !strings.HasPrefix(svc, "/") {
		svc = "/" + svc
	}
	return "https://" + authority + svc
}
