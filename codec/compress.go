package codec

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
)

// Compressor compresses message bytes for a grpc-encoding. Implementations
// must be safe for concurrent use.
type Compressor interface {
	// Name returns the grpc-encoding name, such as "gzip".
	Name() string
	// Compress appends the compressed form of src to dst.
	Compress(dst, src []byte) ([]byte, error)
	// Decompress appends the decompressed form of src to dst. If the output
	// would exceed limit bytes it stops and returns ErrTooLarge, having
	// produced at most limit+1 bytes; a negative limit means no limit.
	Decompress(dst, src []byte, limit int) ([]byte, error)
}

// ErrTooLarge is returned by Decompress when the output exceeds its limit.
var ErrTooLarge = errors.New("codec: decompressed message larger than the limit")

// compressorSet is the registry of compressors, replaced on registration.
type compressorSet struct {
	byName map[string]Compressor
	names  []string // sorted
	accept string   // names joined by ","
}

var compressors atomic.Pointer[compressorSet]

// RegisterCompressor makes c available under its Name, replacing any
// compressor of that name. It is meant to be called from init functions. It
// panics if c is nil, its name is empty or "identity" (which means no
// compression and is never a Compressor).
func RegisterCompressor(c Compressor) {
	if c == nil {
		panic("codec: RegisterCompressor of a nil Compressor")
	}
	name := c.Name()
	if name == "" || name == "identity" {
		panic("codec: RegisterCompressor of a Compressor named " + `"` + name + `"`)
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	next := &compressorSet{byName: make(map[string]Compressor, 2)}
	if old := compressors.Load(); old != nil {
		for k, v := range old.byName {
			next.byName[k] = v
		}
	}
	next.byName[name] = c
	for k := range next.byName {
		next.names = append(next.names, k)
	}
	slices.Sort(next.names)
	next.accept = strings.Join(next.names, ",")
	compressors.Store(next)
}

// GetCompressor returns the compressor registered as name, or nil; nil also
// for "identity", which means no compression.
func GetCompressor(name string) Compressor {
	s := compressors.Load()
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// CompressorNames returns the names of the registered compressors, sorted.
func CompressorNames() []string {
	s := compressors.Load()
	if s == nil {
		return nil
	}
	return slices.Clone(s.names)
}

// AcceptEncoding returns the registered compressor names joined by commas,
// the value of grpc-accept-encoding. It is computed on registration, so
// calling it does not allocate.
func AcceptEncoding() string {
	s := compressors.Load()
	if s == nil {
		return ""
	}
	return s.accept
}
