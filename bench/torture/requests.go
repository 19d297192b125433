package torture

import (
	"encoding/binary"

	"google.golang.org/protobuf/proto"

	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/hpack"
	pb "github.com/h2rpc/h2rpc/interop/grpc_testing"
)

// userAgent identifies the attacker's requests.
const userAgent = "h2rpc-torture/" + channel.Version

// largeResponse is the response size each zero-window request asks for.
const largeResponse = 1 << 20

// largeMessage is the message size each small-data request announces.
const largeMessage = 4 << 20

// requestFields is the header list of a gRPC request for path.
func requestFields(scheme, authority, path string) []hpack.HeaderField {
	return []hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: scheme},
		{Name: ":path", Value: path},
		{Name: ":authority", Value: authority},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
		{Name: "user-agent", Value: userAgent},
	}
}

// grpcMessage returns msg with its 5-byte gRPC prefix (uncompressed).
func grpcMessage(msg []byte) []byte {
	b := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(b[1:], uint32(len(msg)))
	return append(b, msg...)
}

// largeResponseRequest is the grpc.testing.SimpleRequest message, with its
// gRPC prefix, that asks UnaryCall for a response of size bytes.
func largeResponseRequest(size int32) []byte {
	b, err := proto.Marshal(&pb.SimpleRequest{ResponseSize: size})
	if err != nil {
		panic(err) // a message of one integer field always marshals
	}
	return grpcMessage(b)
}

// messagePrefix is the 5-byte prefix announcing an uncompressed message of
// n bytes.
func messagePrefix(n uint32) [5]byte {
	var p [5]byte
	binary.BigEndian.PutUint32(p[1:], n)
	return p
}

// HPACK written by hand (RFC 7541), for the attacks whose header blocks
// must say exactly what they say: no Huffman coding, and nothing added to
// the dynamic table but what the attack means to add.

// appendHPACKInt appends an integer with an n-bit prefix (RFC 7541 §5.1);
// first holds the bits above the prefix.
func appendHPACKInt(dst []byte, first byte, n uint, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(limit))
	v -= limit
	for v >= 128 {
		dst = append(dst, byte(v&0x7f)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// appendHPACKString appends a string literal without Huffman coding
// (RFC 7541 §5.2).
func appendHPACKString(dst []byte, s string) []byte {
	dst = appendHPACKInt(dst, 0, 7, uint64(len(s)))
	return append(dst, s...)
}

// appendLiteral appends a literal field with a new name (RFC 7541 §6.2.1,
// §6.2.2): added to the dynamic table when indexed is set, otherwise not.
func appendLiteral(dst []byte, indexed bool, name, value string) []byte {
	if indexed {
		dst = append(dst, 0x40)
	} else {
		dst = append(dst, 0x00)
	}
	dst = appendHPACKString(dst, name)
	return appendHPACKString(dst, value)
}

// literalBlock encodes fields as literals that leave the dynamic table
// alone.
func literalBlock(fields []hpack.HeaderField) []byte {
	var b []byte
	for _, f := range fields {
		b = appendLiteral(b, false, f.Name, f.Value)
	}
	return b
}

// firstDynamicIndex is the index of the newest dynamic table entry
// (RFC 7541 §2.3.3: the static table has 61 entries).
const firstDynamicIndex = 62

// bombName is the header whose large value the hpack-bomb attack puts in
// the server's dynamic table.
const bombName = "x-h2rpc-bomb"

// bombEntry returns the field that fills a dynamic table of tableSize
// bytes on its own (RFC 7541 §4.1: an entry costs 32 bytes more than its
// name and value), or false when the table is too small to be worth it.
func bombEntry(tableSize uint32) (name, value string, ok bool) {
	n := int(min(tableSize, hpack.MaxEncoderTableSize)) - 32 - len(bombName)
	if n < 16 {
		return "", "", false
	}
	v := make([]byte, n)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	return bombName, string(v), true
}

// bombBlock is a request's fields as literals followed by refs references
// to the newest dynamic table entry: each byte on the wire decodes to the
// whole entry.
func bombBlock(request []byte, refs int) []byte {
	b := append([]byte(nil), request...)
	ref := byte(0x80 | firstDynamicIndex) // indexed field (RFC 7541 §6.1)
	for range refs {
		b = append(b, ref)
	}
	return b
}

// floodFragment is the payload of each CONTINUATION of the continuation
// flood: size bytes of distinct literal fields, none added to the table.
func floodFragment(size int) []byte {
	var b []byte
	for i := 0; len(b) < size; i++ {
		f := appendLiteral(nil, false, "x-h2rpc-continuation", "value-of-a-header-block-that-never-ends-"+string(rune('a'+i%26)))
		if len(b)+len(f) > size {
			break
		}
		b = append(b, f...)
	}
	return b
}
