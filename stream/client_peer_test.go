package stream

import (
	"testing"

	"github.com/h2rpc/h2rpc/frame"
	"golang.org/x/net/http2"
)

// TestClientMisbehavingServer drives our client with a raw server that
// breaks the rules of RFC 9113, and checks the exact frame and error code
// of each answer, and what the client's streams report.
func TestClientMisbehavingServer(t *testing.T) {
	small := func(streamWin, connWin uint32) *Config {
		return &Config{InitialWindowSize: streamWin, InitialConnWindowSize: connWin, DisableBDP: true}
	}
	frame16k := make([]byte, 16384)
	runPeerCases(t, false, []peerCase{
		{name: "5.1/idle/DATA", steps: []step{
			writeData(1, false, []byte("x")), expectGoAway(http2.ErrCodeProtocol), connFails(frame.ErrCodeProtocol)}},
		{name: "5.1/idle/RST_STREAM", steps: []step{
			writeRST(1, http2.ErrCodeCancel), expectGoAway(http2.ErrCodeProtocol)}},
		{name: "5.1.1/server-opens-stream", steps: []step{
			writeHeaders(2, false, ":status", "200"), expectGoAway(http2.ErrCodeProtocol)}},
		{name: "5.1/closed-after-END_STREAM/DATA", steps: []step{
			open(1, true), writeHeaders(1, true, ":status", "200"), clientReads(1, "", ":status", "200"),
			writeData(1, false, []byte("x")), expectGoAway(http2.ErrCodeStreamClosed)}},
		{name: "5.1/closed-after-RST_STREAM/DATA", steps: []step{
			open(1, false), writeRST(1, http2.ErrCodeCancel), streamFails(1, isReset(frame.ErrCodeCancel, true)),
			writeData(1, false, []byte("x")), expectRST(1, http2.ErrCodeStreamClosed), expectAlive}},
		{name: "6.9/DATA-beyond-stream-window", cfg: small(16384, 1<<20), steps: []step{
			open(1, true), writeHeaders(1, false, ":status", "200"),
			writeData(1, false, frame16k), writeData(1, false, []byte("x")),
			expectRST(1, http2.ErrCodeFlowControl), streamFails(1, isReset(frame.ErrCodeFlowControl, false)), expectAlive}},
		{name: "6.9/DATA-beyond-connection-window", cfg: small(1<<20, 0), steps: []step{
			open(1, true), writeHeaders(1, false, ":status", "200"),
			writeData(1, false, frame16k), writeData(1, false, frame16k), writeData(1, false, frame16k),
			writeData(1, false, frame16k), writeData(1, false, frame16k),
			expectGoAway(http2.ErrCodeFlowControl), connFails(frame.ErrCodeFlowControl)}},
		{name: "6.9.1/WINDOW_UPDATE-overflow/connection", steps: []step{
			writeWindowUpdate(0, maxWindow), expectGoAway(http2.ErrCodeFlowControl)}},
		{name: "6.9.1/WINDOW_UPDATE-overflow/stream", steps: []step{
			open(1, false), writeWindowUpdate(1, maxWindow), expectRST(1, http2.ErrCodeFlowControl),
			streamFails(1, isReset(frame.ErrCodeFlowControl, false)), expectAlive}},
		{name: "6.5/SETTINGS-ACK", steps: []step{
			writeSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 7}), expectSettingsAck, expectAlive}},
		// §6.8: streams above the last ID fail, unprocessed; those below
		// finish; no new stream opens; the client closes when done.
		{name: "6.8/GOAWAY", steps: []step{
			open(1, true), open(3, true), open(5, true),
			writeGoAway(3, http2.ErrCodeNo),
			streamFails(5, isGoAway(3, true)), newStreamFails(ErrConnDraining),
			respondOn(1, "one"), respondOn(3, "three"),
			clientReads(1, "one", "grpc-status", "0"), clientReads(3, "three", "grpc-status", "0"),
			expectGoAway(http2.ErrCodeNo)}},
		{name: "8.4/PUSH_PROMISE", steps: []step{
			open(1, true), writePushPromise(1, 2), expectGoAway(http2.ErrCodeProtocol), connFails(frame.ErrCodeProtocol)}},
		{name: "8.1/trailers", steps: []step{
			open(1, true), respondOn(1, "abc"), clientReads(1, "abc", "grpc-status", "0"), expectAlive}},
		{name: "8.1/informational-response", steps: []step{
			open(1, true), writeHeaders(1, false, ":status", "100"), respondOn(1, "abc"),
			clientReads(1, "abc", "grpc-status", "0")}},
		{name: "8.1/second-HEADERS-without-END_STREAM", steps: []step{
			open(1, true), writeHeaders(1, false, ":status", "200"), writeHeaders(1, false, "x-trailer", "v"),
			expectRST(1, http2.ErrCodeProtocol), streamFails(1, isReset(frame.ErrCodeProtocol, false)), expectAlive}},
		{name: "8.1.1/content-length-mismatch", steps: []step{
			open(1, true), writeHeaders(1, false, ":status", "200", "content-length", "5"),
			writeData(1, true, []byte("abc")), expectRST(1, http2.ErrCodeProtocol),
			streamFails(1, isReset(frame.ErrCodeProtocol, false)), expectAlive}},
	})
}
