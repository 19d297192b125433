package metadata

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/h2rpc/h2rpc/internal/headers"
)

// IsBinaryKey reports whether key k carries binary values: it ends in "-bin".
func IsBinaryKey(k string) bool {
	return strings.HasSuffix(k, "-bin")
}

// IsReservedKey reports whether k is a header that gRPC or HTTP/2 owns and
// that users must not set as metadata:
//   - keys starting with "grpc-" (grpc-timeout, grpc-encoding, grpc-status…);
//   - pseudo-headers, starting with ":";
//   - content-type, te and user-agent, which the gRPC layer writes itself;
//   - the connection-specific headers that HTTP/2 forbids: connection,
//     host, keep-alive, proxy-connection, transfer-encoding and upgrade
//     (host is carried as :authority).
//
// k is expected in lowercase, as MD keys are.
func IsReservedKey(k string) bool {
	return headers.Reserved(k)
}

// ValidateKey checks that k is a valid metadata key: non-empty, and made
// only of 0-9, a-z, '-', '_' and '.'.
func ValidateKey(k string) error {
	if k == "" {
		return errors.New("metadata: empty key")
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || c == '-' || c == '_' || c == '.' {
			continue
		}
		return fmt.Errorf("metadata: key %q has invalid byte %#x at %d (allowed: 0-9 a-z - _ .)", k, c, i)
	}
	return nil
}

// ValidateValue checks that v is a valid value for key k: any bytes for a
// binary key, otherwise printable ASCII (0x20–0x7E) only.
func ValidateValue(k, v string) error {
	if IsBinaryKey(k) {
		return nil
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7E {
			return fmt.Errorf("metadata: value of key %q has invalid byte %#x at %d (allowed: printable ASCII; use a -bin key for binary)", k, c, i)
		}
	}
	return nil
}

// EncodeBinary encodes the value of a binary key for the wire: standard
// base64 without padding.
func EncodeBinary(b []byte) string {
	return base64.RawStdEncoding.EncodeToString(b)
}

// DecodeBinary decodes the wire form of a binary value: standard base64,
// padded or not.
func DecodeBinary(s string) ([]byte, error) {
	if len(s)%4 == 0 {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}
