package codec

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Codec marshals and unmarshals messages. Its Name is the content subtype
// of content-type "application/grpc+<name>". Implementations must be safe
// for concurrent use.
type Codec interface {
	// Marshal returns the encoding of v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v. It must not keep data after
	// returning, since the caller may reuse it.
	Unmarshal(data []byte, v any) error
	// Name returns the content subtype, in lowercase.
	Name() string
}

// AppendCodec is a Codec that can marshal into a buffer the caller
// provides, such as a pooled buffer that already holds the 5-byte message
// envelope prefix.
type AppendCodec interface {
	Codec
	// MarshalAppend appends the encoding of v to dst and returns the
	// extended buffer.
	MarshalAppend(dst []byte, v any) ([]byte, error)
}

var (
	registryMu sync.Mutex
	// codecs is replaced, never modified, so readers need no lock.
	codecs atomic.Pointer[map[string]Codec]
)

// RegisterCodec makes c available under its lowercased Name, replacing any
// codec of that name. It is meant to be called from init functions. It
// panics if c is nil or its name is empty.
func RegisterCodec(c Codec) {
	if c == nil {
		panic("codec: RegisterCodec of a nil Codec")
	}
	name := strings.ToLower(c.Name())
	if name == "" {
		panic("codec: RegisterCodec of a Codec with an empty name")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	old := codecs.Load()
	next := make(map[string]Codec, 4)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[name] = c
	codecs.Store(&next)
}

// GetCodec returns the codec registered for contentSubtype, matched
// case-insensitively, or nil.
func GetCodec(contentSubtype string) Codec {
	m := codecs.Load()
	if m == nil {
		return nil
	}
	return (*m)[strings.ToLower(contentSubtype)]
}

func init() {
	RegisterCodec(Proto)
	RegisterCodec(JSON)
	RegisterCodec(Raw)
	RegisterCompressor(Gzip)
}
