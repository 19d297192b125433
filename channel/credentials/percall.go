package credentials

import (
	"context"
	"errors"
)

// PerRPCCredentials attach credentials, such as an OAuth token, to every
// call as request metadata. Use them with the dial option
// stub.WithPerRPCCredentials or the call option stub.PerRPCCredentials.
// Implementations must be safe for concurrent use.
type PerRPCCredentials interface {
	// GetRequestMetadata returns the metadata to add to a call's request
	// headers. uri is the URI of the service the call goes to
	// ("https://host/package.Service"); ctx carries the call's deadline
	// and its RequestInfo (RequestInfoFromContext). An error fails the
	// call: with its own status when it has one (the codes gRFC A54
	// reserves for the server become INTERNAL), else with UNAVAILABLE.
	GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error)
	// RequireTransportSecurity reports whether the credentials may only be
	// sent over a secure (TLS) connection. When true, a call over a
	// plaintext connection fails with UNAUTHENTICATED before anything is
	// sent, and a dial option refuses a plaintext client at once.
	RequireTransportSecurity() bool
}

// SecurityLevel is how well a connection protects what it carries.
type SecurityLevel int

// The security levels, weakest first.
const (
	// InvalidSecurityLevel is the zero value: not set.
	InvalidSecurityLevel SecurityLevel = iota
	// NoSecurity is a plaintext connection.
	NoSecurity
	// IntegrityOnly protects against tampering but not eavesdropping.
	IntegrityOnly
	// PrivacyAndIntegrity protects against both (TLS).
	PrivacyAndIntegrity
)

// String names the level.
func (l SecurityLevel) String() string {
	switch l {
	case NoSecurity:
		return "NoSecurity"
	case IntegrityOnly:
		return "IntegrityOnly"
	case PrivacyAndIntegrity:
		return "PrivacyAndIntegrity"
	}
	return "InvalidSecurityLevel"
}

// CommonAuthInfo is what every AuthInfo of this package carries; embed it
// in an AuthInfo of your own to state its security level.
type CommonAuthInfo struct {
	SecurityLevel SecurityLevel
}

// GetCommonAuthInfo returns the CommonAuthInfo.
func (c CommonAuthInfo) GetCommonAuthInfo() CommonAuthInfo { return c }

// CheckSecurityLevel fails when ai states a security level below level. An
// AuthInfo that states none (no CommonAuthInfo, or the zero level) passes,
// as in grpc-go, for compatibility with credentials that predate levels.
func CheckSecurityLevel(ai AuthInfo, level SecurityLevel) error {
	type common interface{ GetCommonAuthInfo() CommonAuthInfo }
	if ai == nil {
		return errors.New("credentials: AuthInfo is nil")
	}
	if c, ok := ai.(common); ok {
		if got := c.GetCommonAuthInfo().SecurityLevel; got != InvalidSecurityLevel && got < level {
			return errors.New("credentials: the connection's security level is " + got.String() + ", below the " + level.String() + " required")
		}
	}
	return nil
}

// RequestInfo describes the call per-RPC credentials are asked for.
type RequestInfo struct {
	// Method is the call's full method name ("/package.Service/Method").
	Method string
	// AuthInfo describes the security of the channel's connections: a
	// CommonAuthInfo with their security level (TLS: PrivacyAndIntegrity,
	// plaintext: NoSecurity).
	AuthInfo AuthInfo
}

type requestInfoKey struct{}

// NewContextWithRequestInfo returns a child of ctx carrying ri, as the
// client gives GetRequestMetadata; it is for tests of PerRPCCredentials.
func NewContextWithRequestInfo(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFromContext returns the RequestInfo of the call whose
// per-RPC credentials are asked for, in GetRequestMetadata.
func RequestInfoFromContext(ctx context.Context) (RequestInfo, bool) {
	ri, ok := ctx.Value(requestInfoKey{}).(RequestInfo)
	return ri, ok
}
