package insecure

import (
	"context"
	"net"

	"github.com/h2rpc/h2rpc/channel/credentials"
)

// NewCredentials returns credentials whose handshakes return the connection
// unchanged. Use them only on trusted networks, or over a transport secured
// by other means.
func NewCredentials() credentials.TransportCredentials {
	return insecureCreds{}
}

type insecureCreds struct{}

func (insecureCreds) ClientHandshake(_ context.Context, _ string, rawConn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return rawConn, Info{}, nil
}

func (insecureCreds) ServerHandshake(rawConn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return rawConn, Info{}, nil
}

func (insecureCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
}

func (insecureCreds) Clone() credentials.TransportCredentials {
	return insecureCreds{}
}

// Info is the AuthInfo of an insecure connection: it says nothing about the
// peer.
type Info struct{}

// AuthType returns "insecure".
func (Info) AuthType() string { return "insecure" }

// GetCommonAuthInfo states NoSecurity.
func (Info) GetCommonAuthInfo() credentials.CommonAuthInfo {
	return credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}
}
