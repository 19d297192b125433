package hpack

import xhpack "golang.org/x/net/http2/hpack"

// HeaderField is one header field (alias of x/net's type so no conversion is needed).
type HeaderField = xhpack.HeaderField

// MaxEncoderTableSize is the largest dynamic table an Encoder keeps, however
// large a table the peer allows: 4096 bytes, the HTTP/2 default, which holds
// every field of a typical gRPC exchange with room to spare.
const MaxEncoderTableSize = 4096

// Encoder turns header lists into header blocks. Not safe for concurrent use.
//
// It is x/net's encoder writing into the caller's slice: fields found in the
// static or dynamic table are sent as one index, others as literals that are
// added to the dynamic table (never-indexed when marked sensitive), with
// Huffman coding whenever it is shorter.
type Encoder struct {
	x *xhpack.Encoder
	w appendWriter
}

// appendWriter is the io.Writer the x/net encoder writes to: it appends to
// the block being built.
type appendWriter struct{ buf []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// NewEncoder returns an Encoder with the HTTP/2 initial table size of 4096 bytes.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.x = xhpack.NewEncoder(&e.w)
	return e
}

// SetMaxDynamicTableSizeLimit applies the peer's SETTINGS_HEADER_TABLE_SIZE: the encoder
// never uses a larger table and signals any change with a dynamic table size update at the
// start of the next block (RFC 7541 §4.2, §6.3).
//
// The table used is min(n, MaxEncoderTableSize). When it shrinks and grows
// again between two blocks, the next block starts with two updates, the
// smallest size first, as RFC 7541 §4.2 requires.
func (e *Encoder) SetMaxDynamicTableSizeLimit(n uint32) {
	size := min(n, MaxEncoderTableSize)
	cur := e.x.MaxDynamicTableSize()
	if size == cur {
		e.x.SetMaxDynamicTableSizeLimit(size)
		return
	}
	// x/net remembers the smallest size set through SetMaxDynamicTableSize
	// (not through the limit), so raise the limit first, set the size, then
	// lower the limit to it.
	e.x.SetMaxDynamicTableSizeLimit(max(size, cur))
	e.x.SetMaxDynamicTableSize(size)
	e.x.SetMaxDynamicTableSizeLimit(size)
}

// MaxDynamicTableSize returns the size of the dynamic table the encoder uses now.
func (e *Encoder) MaxDynamicTableSize() uint32 { return e.x.MaxDynamicTableSize() }

// AppendBlock appends the encoding of fields to dst. In steady state (fields seen before,
// dst with capacity) it does not allocate.
func (e *Encoder) AppendBlock(dst []byte, fields []HeaderField) []byte {
	e.w.buf = dst
	for i := range fields {
		// Writes into appendWriter never fail.
		_ = e.x.WriteField(fields[i])
	}
	dst = e.w.buf
	e.w.buf = nil
	return dst
}

// AppendField appends one field (for callers that build blocks without a slice).
// A sensitive field is sent as a never-indexed literal (RFC 7541 §6.2.3).
func (e *Encoder) AppendField(dst []byte, name, value string, sensitive bool) []byte {
	e.w.buf = dst
	_ = e.x.WriteField(HeaderField{Name: name, Value: value, Sensitive: sensitive})
	dst = e.w.buf
	e.w.buf = nil
	return dst
}
