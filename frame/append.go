package frame

import "encoding/binary"

// AppendHeader appends a frame header to dst.
func AppendHeader(dst []byte, length uint32, t Type, flags Flags, streamID uint32) []byte {
	return append(dst,
		byte(length>>16), byte(length>>8), byte(length),
		byte(t), byte(flags),
		byte(streamID>>24)&0x7f, byte(streamID>>16), byte(streamID>>8), byte(streamID))
}

// AppendData appends one DATA frame carrying data, which must fit in the
// peer's SETTINGS_MAX_FRAME_SIZE.
func AppendData(dst []byte, streamID uint32, endStream bool, data []byte) []byte {
	var fl Flags
	if endStream {
		fl = FlagEndStream
	}
	dst = AppendHeader(dst, uint32(len(data)), TypeData, fl, streamID)
	return append(dst, data...)
}

// AppendHeaders appends a header block as one HEADERS frame followed by as
// many CONTINUATION frames as maxFrameSize requires (RFC 9113 §4.3).
func AppendHeaders(dst []byte, streamID uint32, endStream bool, block []byte, maxFrameSize uint32) []byte {
	var fl Flags
	if endStream {
		fl = FlagEndStream
	}
	t := TypeHeaders
	for {
		n := len(block)
		if n > int(maxFrameSize) {
			n = int(maxFrameSize)
		} else {
			fl |= FlagEndHeaders
		}
		dst = AppendHeader(dst, uint32(n), t, fl, streamID)
		dst = append(dst, block[:n]...)
		block = block[n:]
		if fl.Has(FlagEndHeaders) {
			return dst
		}
		t, fl = TypeContinuation, 0
	}
}

// AppendPriority appends a PRIORITY frame.
func AppendPriority(dst []byte, streamID uint32, p Priority) []byte {
	dst = AppendHeader(dst, 5, TypePriority, 0, streamID)
	v := p.StreamDep & (1<<31 - 1)
	if p.Exclusive {
		v |= 1 << 31
	}
	dst = binary.BigEndian.AppendUint32(dst, v)
	return append(dst, p.Weight)
}

// AppendRSTStream appends an RST_STREAM frame.
func AppendRSTStream(dst []byte, streamID uint32, code ErrCode) []byte {
	dst = AppendHeader(dst, 4, TypeRSTStream, 0, streamID)
	return binary.BigEndian.AppendUint32(dst, uint32(code))
}

// AppendSettings appends a SETTINGS frame carrying params.
func AppendSettings(dst []byte, params ...Setting) []byte {
	dst = AppendHeader(dst, uint32(6*len(params)), TypeSettings, 0, 0)
	for _, p := range params {
		dst = binary.BigEndian.AppendUint16(dst, uint16(p.ID))
		dst = binary.BigEndian.AppendUint32(dst, p.Val)
	}
	return dst
}

// AppendSettingsAck appends a SETTINGS frame with the ACK flag.
func AppendSettingsAck(dst []byte) []byte {
	return AppendHeader(dst, 0, TypeSettings, FlagAck, 0)
}

// AppendPing appends a PING frame, or its acknowledgement when ack is set.
func AppendPing(dst []byte, ack bool, data [8]byte) []byte {
	var fl Flags
	if ack {
		fl = FlagAck
	}
	dst = AppendHeader(dst, 8, TypePing, fl, 0)
	return append(dst, data[:]...)
}

// AppendGoAway appends a GOAWAY frame.
func AppendGoAway(dst []byte, lastStreamID uint32, code ErrCode, debug []byte) []byte {
	dst = AppendHeader(dst, uint32(8+len(debug)), TypeGoAway, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, lastStreamID&(1<<31-1))
	dst = binary.BigEndian.AppendUint32(dst, uint32(code))
	return append(dst, debug...)
}

// AppendWindowUpdate appends a WINDOW_UPDATE frame; streamID 0 means the
// connection window.
func AppendWindowUpdate(dst []byte, streamID, increment uint32) []byte {
	dst = AppendHeader(dst, 4, TypeWindowUpdate, 0, streamID)
	return binary.BigEndian.AppendUint32(dst, increment&(1<<31-1))
}
