package hpack

import (
	"errors"

	xhpack "golang.org/x/net/http2/hpack"
)

// DefaultMaxHeaderListSize is the header list limit a Decoder uses when it is
// given 0: 1 MiB.
const DefaultMaxHeaderListSize = 1 << 20

// MinBlockCap is the smallest hard cap on the encoded bytes of one header
// block; the cap is max(MinBlockCap, 4 × maxHeaderListSize).
const MinBlockCap = 64 << 10

// fragmentOverhead is charged against the block cap for every fragment in
// addition to its length: the 9-byte header of the frame that carried it.
// It makes a flood of empty CONTINUATION frames hit the cap as well.
const fragmentOverhead = 9

// MaxFragments is the most fragments (HEADERS plus CONTINUATION frames) one
// block may arrive in. Encoders split a block at the frame size, at least
// 16 KiB, so this allows 64 MiB blocks; a flood of tiny or empty
// CONTINUATION frames is refused long before the byte cap would be reached.
const MaxFragments = 4096

// maxInt is the largest integer (RFC 7541 §5.1) the decoder accepts. Table
// sizes are 32-bit in HTTP/2 and string lengths are bounded by the header
// list limit, so anything larger is treated as an overflow.
const maxInt = 1<<32 - 1

// Decoder turns header blocks, possibly split over HEADERS and CONTINUATION frames,
// into header lists. Not safe for concurrent use.
//
// Fields are decoded by x/net's decoder. In front of it the Decoder walks the
// representations itself, without decoding strings, to enforce what x/net
// does not: dynamic table size updates only at the start of a block (RFC 7541
// §4.2, including two in a row), a required update after our table size was
// reduced, integers that fit in 32 bits, and a hard cap on the block bytes.
// Memory held between fragments is bounded by x/net's buffer of one
// incomplete field, at most 2 × (maxHeaderListSize + 8) bytes.
type Decoder struct {
	x   *xhpack.Decoder
	err error // sticky: set once a connection-level error was returned

	// The header list being decoded.
	list     []HeaderField
	listSize uint64
	maxList  uint32
	tooLarge bool

	// The encoded bytes charged to the current block, and the cap.
	charged   uint64
	blockCap  uint64
	fragments int

	// The dynamic table size: the largest our settings allow, and whether
	// the next block must start with an update (our setting was reduced
	// below the size the peer last signalled).
	allowed    uint32
	tableSize  uint32
	needUpdate bool

	scan scanner
	open bool // between Begin and End
}

// NewDecoder returns a Decoder with a dynamic table of maxDynamicTableSize
// bytes (4096 is the HTTP/2 initial value) and the given header list limit;
// 0 selects DefaultMaxHeaderListSize.
func NewDecoder(maxDynamicTableSize, maxHeaderListSize uint32) *Decoder {
	d := &Decoder{allowed: maxDynamicTableSize, tableSize: maxDynamicTableSize}
	d.x = xhpack.NewDecoder(maxDynamicTableSize, nil)
	d.x.SetEmitFunc(d.emit)
	d.SetMaxHeaderListSize(maxHeaderListSize)
	return d
}

// SetMaxHeaderListSize changes the limit (our SETTINGS_MAX_HEADER_LIST_SIZE);
// 0 selects DefaultMaxHeaderListSize. It also sets the block cap to
// max(MinBlockCap, 4 × n).
func (d *Decoder) SetMaxHeaderListSize(n uint32) {
	if n == 0 {
		n = DefaultMaxHeaderListSize
	}
	d.maxList = n
	d.blockCap = max(MinBlockCap, 4*uint64(n))
	// A single name or value longer than the whole list is refused as it
	// arrives, before x/net buffers it.
	d.x.SetMaxStringLength(int(min(uint64(n), uint64(^uint(0)>>1))))
}

// MaxHeaderListSize returns the header list limit in force.
func (d *Decoder) MaxHeaderListSize() uint32 { return d.maxList }

// BlockCap returns the hard cap on the encoded bytes of one header block,
// counting 9 bytes more for each fragment.
func (d *Decoder) BlockCap() uint64 { return d.blockCap }

// SetAllowedMaxDynamicTableSize applies our own SETTINGS_HEADER_TABLE_SIZE once acknowledged.
// If n is below the size the peer last signalled, the next block must begin
// with a dynamic table size update (RFC 7541 §4.2); otherwise it fails with
// ErrCompression.
func (d *Decoder) SetAllowedMaxDynamicTableSize(n uint32) {
	d.allowed = n
	d.x.SetAllowedMaxDynamicTableSize(n)
	if n < d.tableSize {
		d.needUpdate = true
	}
}

// Begin starts a new header block, decoding into dst[:0] (a reusable slice).
// A previous block left without End is dropped; if it stopped inside a
// field, the dynamic table may no longer match the peer's, so the Decoder
// fails from then on with ErrCompression.
func (d *Decoder) Begin(dst []HeaderField) {
	if d.open && d.err == nil && (d.scan.state != stRepr || d.x.Close() != nil) {
		d.err = compressionErr("header block abandoned inside a field", nil)
	}
	d.open = true
	d.list = dst[:0]
	d.listSize = 0
	d.tooLarge = false
	d.charged = 0
	d.fragments = 0
	d.scan = scanner{leading: true}
	d.x.SetEmitEnabled(true)
}

// Write feeds one fragment (the payload of HEADERS or a CONTINUATION) as it arrives.
// Fields are decoded as soon as they are complete, so memory stays bounded
// however many CONTINUATION frames arrive.
//
// Every fragment is charged its length plus 9 bytes (its frame header);
// once the charge for the block passes max(MinBlockCap, 4 × maxHeaderListSize),
// or the block arrives in more than MaxFragments fragments, Write returns
// ErrBlockTooLarge. Malformed HPACK, and a single name or value
// longer than the header list limit (which cannot be skipped without losing
// step with the peer's table), return an error matching ErrCompression.
// After either error the Decoder returns it forever.
func (d *Decoder) Write(fragment []byte) error {
	if d.err != nil {
		return d.err
	}
	d.charged += uint64(len(fragment)) + fragmentOverhead
	d.fragments++
	if d.charged > d.blockCap || d.fragments > MaxFragments {
		return d.fail(ErrBlockTooLarge)
	}
	skip, err := d.walk(fragment)
	if err != nil {
		return d.fail(err)
	}
	if skip == len(fragment) {
		return nil
	}
	if _, err := d.x.Write(fragment[skip:]); err != nil {
		if errors.Is(err, xhpack.ErrStringLength) {
			return d.fail(compressionErr("field name or value longer than the header list limit", err))
		}
		return d.fail(compressionErr("invalid header block", err))
	}
	return nil
}

// End finishes the block and returns the decoded list: dst from Begin,
// grown as needed, valid until the next Begin (the strings stay valid). It
// returns ErrHeaderListTooLarge (and no fields) when the list passed the
// limit; the Decoder stays usable after that error only.
func (d *Decoder) End() ([]HeaderField, error) {
	d.open = false
	if d.err != nil {
		return nil, d.err
	}
	if d.scan.state != stRepr {
		return nil, d.fail(compressionErr("header block ends inside a field", nil))
	}
	if d.needUpdate {
		return nil, d.fail(compressionErr("header block lacks the required dynamic table size update", nil))
	}
	if err := d.x.Close(); err != nil {
		return nil, d.fail(compressionErr("header block ends inside a field", err))
	}
	if d.tooLarge {
		return nil, ErrHeaderListTooLarge
	}
	return d.list, nil
}

func (d *Decoder) fail(err error) error {
	d.err = err
	clear(d.list)
	d.list = d.list[:0]
	return err
}

// emit receives each field from x/net and keeps it while the list is within
// the limit. Past it, the kept fields are dropped and x/net is told to stop
// emitting (it then skips decoding strings it does not index).
func (d *Decoder) emit(f HeaderField) {
	if d.tooLarge {
		return
	}
	d.listSize += uint64(len(f.Name)) + uint64(len(f.Value)) + 32
	if d.listSize > uint64(d.maxList) {
		d.tooLarge = true
		d.x.SetEmitEnabled(false)
		clear(d.list)
		d.list = d.list[:0]
		return
	}
	d.list = append(d.list, f)
}

// The scanner's states: where the next byte falls in the block.
const (
	stRepr   = iota // first byte of a representation
	stInt           // continuation byte of an integer
	stStrLen        // first byte of a string (Huffman flag and length prefix)
	stStr           // string octets
)

// What the integer being read means.
const (
	intIndex   = iota // index of an indexed field (§6.1)
	intNameIdx        // name index of a literal (§6.2); 0 means a literal name follows
	intSize           // new maximum size of a dynamic table size update (§6.3)
	intStrLen         // length of a string (§5.2)
)

// scanner follows the representation boundaries of a block across
// fragments. It reads integers and skips string octets; it decodes nothing.
type scanner struct {
	state   uint8
	intKind uint8
	shift   uint8
	leading bool   // no field representation seen yet in this block
	nameStr bool   // the string being read is a literal name; a value follows
	acc     uint64 // integer being read
	left    uint64 // string octets still to skip
}

// walk advances the scanner over p, applies the dynamic table size updates
// at the start of the block, and returns how many leading bytes of p belong
// to those updates (they are not passed to x/net, whose decoder refuses a
// second update in a row once its table holds anything).
func (d *Decoder) walk(p []byte) (skip int, err error) {
	s := &d.scan
	for i := 0; i < len(p); {
		b := p[i]
		i++
		switch s.state {
		case stRepr:
			var kind, n uint8
			switch {
			case b&0x80 != 0:
				kind, n = intIndex, 7
			case b&0xc0 == 0x40:
				kind, n = intNameIdx, 6
			case b&0xe0 == 0x20:
				if !s.leading {
					return 0, compressionErr("dynamic table size update after a header field (RFC 7541 §4.2)", nil)
				}
				kind, n = intSize, 5
			default: // 0000xxxx without indexing, 0001xxxx never indexed
				kind, n = intNameIdx, 4
			}
			if kind != intSize && s.leading {
				if d.needUpdate {
					return 0, compressionErr("header block lacks the required dynamic table size update", nil)
				}
				s.leading = false
				skip = i - 1
			}
			if err := d.startInt(kind, b, n); err != nil {
				return 0, err
			}
		case stInt:
			if s.shift > 32 && b&0x7f != 0 {
				return 0, compressionErr("integer overflow", nil)
			}
			s.acc += uint64(b&0x7f) << s.shift
			if s.acc > maxInt {
				return 0, compressionErr("integer overflow", nil)
			}
			if b&0x80 == 0 {
				if err := d.endInt(); err != nil {
					return 0, err
				}
				continue
			}
			s.shift += 7
			if s.shift >= 63 {
				return 0, compressionErr("integer overflow", nil)
			}
		case stStrLen:
			if err := d.startInt(intStrLen, b, 7); err != nil {
				return 0, err
			}
		case stStr:
			i--
			n := min(s.left, uint64(len(p)-i))
			i += int(n)
			s.left -= n
			if s.left == 0 {
				s.endStr()
			}
		}
	}
	if s.leading {
		skip = len(p)
	}
	return skip, nil
}

// startInt begins an integer with an n-bit prefix taken from b (§5.1).
func (d *Decoder) startInt(kind uint8, b, n uint8) error {
	s := &d.scan
	s.intKind = kind
	mask := uint8(1)<<n - 1
	s.acc = uint64(b & mask)
	s.shift = 0
	if b&mask < mask {
		return d.endInt()
	}
	s.state = stInt
	return nil
}

// endInt acts on a complete integer.
func (d *Decoder) endInt() error {
	s := &d.scan
	switch s.intKind {
	case intIndex:
		s.state = stRepr
	case intNameIdx:
		s.nameStr = s.acc == 0
		s.state = stStrLen
	case intSize:
		if s.acc > uint64(d.allowed) {
			return compressionErr("dynamic table size update above SETTINGS_HEADER_TABLE_SIZE", nil)
		}
		d.tableSize = uint32(s.acc)
		d.needUpdate = false
		d.x.SetMaxDynamicTableSize(d.tableSize)
		s.state = stRepr
	case intStrLen:
		s.left = s.acc
		s.state = stStr
		if s.left == 0 {
			s.endStr()
		}
	}
	return nil
}

func (s *scanner) endStr() {
	if s.nameStr {
		s.nameStr = false
		s.state = stStrLen
		return
	}
	s.state = stRepr
}
