package frame

import "encoding/binary"

// Parse decodes the payload of a frame whose header is h into f, checking
// every rule of RFC 9113 §6 that can be checked from the frame alone. The
// error, if any, is a *ConnError or a *StreamError saying how the receiver
// must react. f's byte slices alias payload.
//
// Parse does not check the frame length against SETTINGS_MAX_FRAME_SIZE
// (the Reader does) nor the order of frames (the stream layer does).
func Parse(h Header, payload []byte, f *Frame) error {
	*f = Frame{Header: h}
	switch h.Type {
	case TypeData:
		return parseData(f, payload)
	case TypeHeaders:
		return parseHeaders(f, payload)
	case TypePriority:
		return parsePriority(f, payload)
	case TypeRSTStream:
		return parseRSTStream(f, payload)
	case TypeSettings:
		return parseSettings(f, payload)
	case TypePushPromise:
		return parsePushPromise(f, payload)
	case TypePing:
		return parsePing(f, payload)
	case TypeGoAway:
		return parseGoAway(f, payload)
	case TypeWindowUpdate:
		return parseWindowUpdate(f, payload)
	case TypeContinuation:
		if h.StreamID == 0 {
			return connErr(ErrCodeProtocol, "CONTINUATION on stream 0")
		}
		f.Data = payload
		return nil
	default:
		// Unknown frame types must be ignored (RFC 9113 §4.1, §5.5).
		f.Data = payload
		return nil
	}
}

// splitPadded separates the payload of a DATA, HEADERS or PUSH_PROMISE frame
// into its fixed fields (the first fixed bytes after the Pad Length, if any)
// and the rest without padding (RFC 9113 §6.1, §6.2, §6.6). A payload too
// short for its mandatory fields is a FRAME_SIZE_ERROR (§4.2); padding that
// does not fit in what remains after them is a PROTOCOL_ERROR. Both are
// connection errors: these frames carry flow-controlled data or a field
// block, whose loss would desynchronise the connection.
func splitPadded(f *Frame, payload []byte, fixed int) (fields, rest []byte, err error) {
	pad := 0
	if f.Flags.Has(FlagPadded) {
		if len(payload) < 1 {
			return nil, nil, connErr(ErrCodeFrameSize, "%v padded frame with empty payload", f.Type)
		}
		pad = int(payload[0])
		payload = payload[1:]
	}
	if len(payload) < fixed {
		return nil, nil, connErr(ErrCodeFrameSize, "%v payload too short for its %d-byte fields", f.Type, fixed)
	}
	fields, payload = payload[:fixed], payload[fixed:]
	if pad > len(payload) {
		return nil, nil, connErr(ErrCodeProtocol, "%v pad length %d exceeds the %d bytes left", f.Type, pad, len(payload))
	}
	return fields, payload[:len(payload)-pad], nil
}

func parseData(f *Frame, payload []byte) error {
	if f.StreamID == 0 {
		return connErr(ErrCodeProtocol, "DATA on stream 0")
	}
	_, p, err := splitPadded(f, payload, 0)
	f.Data = p
	return err
}

func parsePriorityFields(b []byte) Priority {
	v := binary.BigEndian.Uint32(b)
	return Priority{StreamDep: v & (1<<31 - 1), Exclusive: v>>31 == 1, Weight: b[4]}
}

func parseHeaders(f *Frame, payload []byte) error {
	if f.StreamID == 0 {
		return connErr(ErrCodeProtocol, "HEADERS on stream 0")
	}
	fixed := 0
	if f.Flags.Has(FlagPriority) {
		fixed = 5
	}
	prio, p, err := splitPadded(f, payload, fixed)
	if err != nil {
		return err
	}
	f.Data = p
	if fixed != 0 {
		f.Priority = parsePriorityFields(prio)
		if f.Priority.StreamDep == f.StreamID {
			// RFC 9113 §5.3.1: a stream cannot depend on itself.
			return streamErr(f.StreamID, ErrCodeProtocol, "stream depends on itself")
		}
	}
	return nil
}

func parsePriority(f *Frame, payload []byte) error {
	if f.StreamID == 0 {
		return connErr(ErrCodeProtocol, "PRIORITY on stream 0")
	}
	if len(payload) != 5 {
		return streamErr(f.StreamID, ErrCodeFrameSize, "PRIORITY length %d, want 5", len(payload))
	}
	f.Priority = parsePriorityFields(payload)
	if f.Priority.StreamDep == f.StreamID {
		return streamErr(f.StreamID, ErrCodeProtocol, "stream depends on itself")
	}
	return nil
}

func parseRSTStream(f *Frame, payload []byte) error {
	if len(payload) != 4 {
		return connErr(ErrCodeFrameSize, "RST_STREAM length %d, want 4", len(payload))
	}
	if f.StreamID == 0 {
		return connErr(ErrCodeProtocol, "RST_STREAM on stream 0")
	}
	f.ErrCode = ErrCode(binary.BigEndian.Uint32(payload))
	return nil
}

func parseSettings(f *Frame, payload []byte) error {
	// RFC 9113 fixes no order among these checks; this is x/net's, so that
	// both report the same code for a frame that breaks two rules.
	if f.Flags.Has(FlagAck) && len(payload) != 0 {
		return connErr(ErrCodeFrameSize, "SETTINGS ACK with payload of %d bytes", len(payload))
	}
	if f.StreamID != 0 {
		return connErr(ErrCodeProtocol, "SETTINGS on stream %d", f.StreamID)
	}
	if f.Flags.Has(FlagAck) {
		return nil
	}
	if len(payload)%6 != 0 {
		return connErr(ErrCodeFrameSize, "SETTINGS length %d not a multiple of 6", len(payload))
	}
	f.settings = payload
	for i := range f.NumSettings() {
		if err := f.Setting(i).Valid(); err != nil {
			return err
		}
	}
	return nil
}

func parsePushPromise(f *Frame, payload []byte) error {
	if f.StreamID == 0 {
		return connErr(ErrCodeProtocol, "PUSH_PROMISE on stream 0")
	}
	id, p, err := splitPadded(f, payload, 4)
	if err != nil {
		return err
	}
	f.PromisedID = binary.BigEndian.Uint32(id) & (1<<31 - 1)
	f.Data = p
	return nil
}

func parsePing(f *Frame, payload []byte) error {
	if len(payload) != 8 {
		return connErr(ErrCodeFrameSize, "PING length %d, want 8", len(payload))
	}
	if f.StreamID != 0 {
		return connErr(ErrCodeProtocol, "PING on stream %d", f.StreamID)
	}
	copy(f.PingData[:], payload)
	return nil
}

func parseGoAway(f *Frame, payload []byte) error {
	if f.StreamID != 0 {
		return connErr(ErrCodeProtocol, "GOAWAY on stream %d", f.StreamID)
	}
	if len(payload) < 8 {
		return connErr(ErrCodeFrameSize, "GOAWAY shorter than 8 bytes")
	}
	f.LastStreamID = binary.BigEndian.Uint32(payload) & (1<<31 - 1)
	f.ErrCode = ErrCode(binary.BigEndian.Uint32(payload[4:]))
	f.Data = payload[8:]
	return nil
}

func parseWindowUpdate(f *Frame, payload []byte) error {
	if len(payload) != 4 {
		return connErr(ErrCodeFrameSize, "WINDOW_UPDATE length %d, want 4", len(payload))
	}
	f.Increment = binary.BigEndian.Uint32(payload) & (1<<31 - 1)
	if f.Increment == 0 {
		// RFC 9113 §6.9: an increment of 0 is a stream error, or a
		// connection error when it concerns the connection window.
		if f.StreamID == 0 {
			return connErr(ErrCodeProtocol, "WINDOW_UPDATE of 0 on the connection")
		}
		return streamErr(f.StreamID, ErrCodeProtocol, "WINDOW_UPDATE of 0")
	}
	return nil
}
