package gossip

// overhead is the room the header and encryption take in every packet.
func (n *Node) overhead() int {
	o := 3 + len(n.cfg.Label)
	if n.cfg.Keyring != nil {
		o += nonceSize + tagSize
	}
	return o
}

// seal wraps a body in the header, encrypting it when a keyring is set.
func (n *Node) seal(dst []byte, flags byte, body []byte) []byte {
	if n.cfg.Keyring != nil {
		flags |= flagEncrypted
	}
	start := len(dst)
	dst = appendHeader(dst, flags, n.cfg.Label)
	if n.cfg.Keyring == nil {
		return append(dst, body...)
	}
	ad := dst[start:]
	return n.cfg.Keyring.seal(dst, ad, body)
}

// open checks the header of a packet or stream message and returns its
// plaintext body, counting what it drops. Call with mu held.
func (n *Node) open(b []byte) ([]byte, byte, bool) {
	h, hdr, body, err := decodeHeader(b)
	if err != nil {
		n.stats.Malformed++
		return nil, 0, false
	}
	if string(h.label) != n.cfg.Label {
		n.stats.WrongLabel++
		return nil, 0, false
	}
	encrypted := h.flags&flagEncrypted != 0
	if encrypted != (n.cfg.Keyring != nil) {
		n.stats.Unauthenticated++
		return nil, 0, false
	}
	if encrypted {
		body, err = n.cfg.Keyring.open(hdr, body)
		if err != nil {
			n.stats.Unauthenticated++
			return nil, 0, false
		}
	}
	return body, h.flags, true
}

// sendPacket sends msgs to addr and fills the rest of the packet with
// pending updates and application messages. Call with mu held.
func (n *Node) sendPacket(addr string, msgs ...*message) {
	n.sendPacketTo(addr, true, msgs...)
}

func (n *Node) sendPacketTo(addr string, piggyback bool, msgs ...*message) {
	body := make([]byte, 0, n.cfg.PacketSize)
	alive := false
	for _, m := range msgs {
		body = appendMessage(body, m)
		alive = alive || m.typ == msgAlive
	}
	if piggyback {
		var a bool
		body, a = n.fill(body, n.cfg.PacketSize-n.overhead())
		alive = alive || a
	}
	if len(body) == 0 {
		return
	}
	var flags byte
	if alive {
		flags |= flagPriority
	}
	pkt := n.seal(make([]byte, 0, len(body)+n.overhead()), flags, body)
	n.stats.PacketsSent++
	n.stats.BytesSent += uint64(len(pkt))
	_ = n.tr.SendPacket(addr, pkt)
}

// fill appends pending updates to body up to size bytes. Application
// messages get the first half of the free room, membership updates the
// rest, then application messages whatever is left.
func (n *Node) fill(body []byte, size int) ([]byte, bool) {
	limit := n.retransmitLimit()
	free := size - len(body)
	if free <= 0 {
		return body, false
	}
	n.packets++
	if n.user.len() > 0 {
		body, _ = n.user.take(body, free/2, limit, n.packets)
	}
	var alive bool
	if n.updates.len() > 0 {
		body, alive = n.updates.take(body, size-len(body), limit, n.packets)
	}
	if n.user.len() > 0 {
		body, _ = n.user.take(body, size-len(body), limit, n.packets)
	}
	return body, alive
}

// HandlePacket handles one inbound packet; transports call it.
func (n *Node) HandlePacket(from string, b []byte) {
	n.mu.Lock()
	defer n.unlock()
	if n.closed {
		return
	}
	n.stats.PacketsReceived++
	n.stats.BytesReceived += uint64(len(b))
	if len(b) > maxPacketLen {
		n.stats.Malformed++
		return
	}
	body, _, ok := n.open(b)
	if !ok {
		return
	}
	// All or nothing: a packet with one malformed message is dropped
	// whole, before anything in it takes effect.
	msgs := n.scratch[:0]
	err := decodeBody(body, func(m *message) {
		msgs = append(msgs, *m)
	})
	if err != nil {
		n.stats.Malformed++
		n.scratch = msgs[:0]
		return
	}
	for i := range msgs {
		if msgs[i].typ == msgPushPull {
			n.stats.Malformed++
			n.scratch = msgs[:0]
			return
		}
	}
	// Alive messages first: they carry joins and refutations. Then
	// suspicions and deaths, so that a ping carrying a suspicion of us is
	// answered by an ack carrying our refutation.
	for pass := 0; pass < 3; pass++ {
		for i := range msgs {
			if handlingPass(msgs[i].typ) == pass {
				n.handleMessage(from, &msgs[i])
			}
		}
	}
	clear(msgs)
	n.scratch = msgs[:0]
}

// handlingPass orders the messages of one packet: alive, then suspect and
// dead, then the rest.
func handlingPass(t msgType) int {
	switch t {
	case msgAlive:
		return 0
	case msgSuspect, msgDead:
		return 1
	}
	return 2
}

func (n *Node) handleMessage(from string, m *message) {
	switch m.typ {
	case msgPing:
		n.handlePing(from, m)
	case msgIndirectPing:
		n.handleIndirectPing(from, m)
	case msgAck:
		n.handleAck(m)
	case msgNack:
		n.handleNack(m)
	case msgAlive:
		n.handleAlive(m.inc, m.name, m.addr, m.meta)
	case msgSuspect:
		n.handleSuspect(m.inc, string(m.name), string(m.from))
	case msgDead:
		n.handleDead(m.inc, string(m.name), string(m.from))
	case msgUser:
		n.handleUser(m)
	}
}

// HandleStream handles one inbound stream request; transports call it.
func (n *Node) HandleStream(from string, req []byte) []byte {
	n.mu.Lock()
	defer n.unlock()
	if n.closed {
		return nil
	}
	n.stats.StreamsReceived++
	n.stats.StreamBytesReceived += uint64(len(req))
	m, ok := n.openStream(req)
	if !ok {
		return nil
	}
	switch m.typ {
	case msgPing:
		if string(m.name) != n.self.name {
			return nil
		}
		ack := message{typ: msgAck, seq: m.seq}
		return n.sealStream(&ack)
	case msgPushPull:
		return n.answerPushPull(from, &m)
	}
	n.stats.Malformed++
	return nil
}

// openStream decodes a stream message: exactly one message. Call with mu
// held.
func (n *Node) openStream(b []byte) (message, bool) {
	if len(b) > maxStreamLen {
		n.stats.Malformed++
		return message{}, false
	}
	body, _, ok := n.open(b)
	if !ok {
		return message{}, false
	}
	m, rest, err := decodeMessage(body)
	if err != nil || len(rest) != 0 {
		n.stats.Malformed++
		return message{}, false
	}
	return m, true
}

// sealStream encodes one stream message. Call with mu held.
func (n *Node) sealStream(m *message) []byte {
	return n.sealStreamBody(appendMessage(nil, m))
}

// sealStreamBody seals an encoded stream message. Call with mu held.
func (n *Node) sealStreamBody(body []byte) []byte {
	out := n.seal(make([]byte, 0, len(body)+n.overhead()), 0, body)
	n.stats.StreamsSent++
	n.stats.StreamBytesSent += uint64(len(out))
	return out
}
