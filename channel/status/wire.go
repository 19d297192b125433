package status

import (
	"errors"
	"unicode/utf8"

	"github.com/h2rpc/h2rpc/channel/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Field numbers of google.rpc.Status.
const (
	fieldCode    = 1
	fieldMessage = 2
	fieldDetails = 3
)

// MarshalProto returns s serialized as a google.rpc.Status message, the
// value of the grpc-status-details-bin trailer. The bytes are those
// proto.Marshal produces for the same google.rpc.Status. A nil Status
// marshals to an empty message.
func (s *Status) MarshalProto() []byte {
	return s.AppendProto(nil)
}

// AppendProto appends s serialized as a google.rpc.Status message to dst.
func (s *Status) AppendProto(dst []byte) []byte {
	if s == nil {
		return dst
	}
	if s.code != 0 {
		dst = protowire.AppendTag(dst, fieldCode, protowire.VarintType)
		// int32 fields are sign-extended to 64 bits on the wire.
		dst = protowire.AppendVarint(dst, uint64(int64(int32(s.code))))
	}
	if s.msg != "" {
		dst = protowire.AppendTag(dst, fieldMessage, protowire.BytesType)
		dst = protowire.AppendString(dst, s.msg)
	}
	for _, a := range s.details {
		dst = protowire.AppendTag(dst, fieldDetails, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(proto.Size(a)))
		// Marshalling an Any cannot fail: it holds only a string and bytes.
		dst, _ = proto.MarshalOptions{}.MarshalAppend(dst, a)
	}
	return dst
}

var (
	errInvalidUTF8 = errors.New("status: google.rpc.Status message is not valid UTF-8")
	errNegative    = errors.New("status: malformed google.rpc.Status")
)

// UnmarshalProto parses a serialized google.rpc.Status, as carried in the
// grpc-status-details-bin trailer. Unknown fields are skipped, and a known
// field with an unexpected wire type is treated as unknown, as
// proto.Unmarshal does. Malformed input, including a message that is not
// valid UTF-8, returns an error.
func UnmarshalProto(b []byte) (*Status, error) {
	s := &Status{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, wireError(n)
		}
		b = b[n:]
		switch {
		case num == fieldCode && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, wireError(n)
			}
			s.code = codes.Code(uint32(int32(v)))
			b = b[n:]
		case num == fieldMessage && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, wireError(n)
			}
			if !utf8.Valid(v) {
				return nil, errInvalidUTF8
			}
			s.msg = string(v)
			b = b[n:]
		case num == fieldDetails && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, wireError(n)
			}
			a := &anypb.Any{}
			if err := proto.Unmarshal(v, a); err != nil {
				return nil, errors.New("status: malformed detail in google.rpc.Status: " + err.Error())
			}
			s.details = append(s.details, a)
			b = b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, wireError(n)
			}
			b = b[n:]
		}
	}
	return s, nil
}

func wireError(n int) error {
	if err := protowire.ParseError(n); err != nil {
		return errors.New("status: malformed google.rpc.Status: " + err.Error())
	}
	return errNegative
}

const upperHex = "0123456789ABCDEF"

// needsEscape reports whether byte c must be percent-encoded in grpc-message.
func needsEscape(c byte) bool {
	return c < 0x20 || c > 0x7E || c == '%'
}

// EncodeMessage percent-encodes msg for the grpc-message trailer: every
// byte outside 0x20–0x7E, and '%' itself, becomes %XX with uppercase hex
// digits. Bytes are encoded one by one, so UTF-8 text becomes its
// percent-encoded UTF-8 and invalid UTF-8 is carried unchanged. When nothing
// needs escaping, msg is returned as is, without allocating.
func EncodeMessage(msg string) string {
	i := 0
	for i < len(msg) && !needsEscape(msg[i]) {
		i++
	}
	if i == len(msg) {
		return msg
	}
	n := len(msg)
	for j := i; j < len(msg); j++ {
		if needsEscape(msg[j]) {
			n += 2
		}
	}
	out := make([]byte, i, n)
	copy(out, msg[:i])
	for ; i < len(msg); i++ {
		c := msg[i]
		if needsEscape(c) {
			out = append(out, '%', upperHex[c>>4], upperHex[c&0xF])
		} else {
			out = append(out, c)
		}
	}
	return string(out)
}

// unhex returns the value of hex digit c, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// DecodeMessage reverses EncodeMessage. It is lenient: a '%' not followed by
// two hex digits (of either case) is kept as is. The result is the decoded
// bytes, which are not checked or repaired as UTF-8, so that
// DecodeMessage(EncodeMessage(x)) == x for every x. When s holds no '%', it
// is returned as is, without allocating.
func DecodeMessage(s string) string {
	i := 0
	for i < len(s) && s[i] != '%' {
		i++
	}
	if i == len(s) {
		return s
	}
	out := make([]byte, i, len(s))
	copy(out, s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, lo := unhex(s[i+1]), unhex(s[i+2])
			if hi >= 0 && lo >= 0 {
				out = append(out, byte(hi<<4|lo))
				i += 2
				continue
			}
		}
		out = append(out, c)
	}
	return string(out)
}
