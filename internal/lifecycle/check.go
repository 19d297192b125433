package lifecycle

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
)

// problems returns what is wrong with a call's outcome, given the round's
// fault, what the server recorded of the call and whether the layer gives
// the one response of a client-streaming call only with an OK status.
func (o *Outcome) problems(round Fault, l *Ledger, withStatus bool) []string {
	ps := slices.Clone(o.notes)
	bad := func(format string, args ...any) { ps = append(ps, fmt.Sprintf(format, args...)) }
	p := &o.Plan
	rec := l.lookup(p.ID)
	code := codes.OK
	if o.Err != nil {
		st, ok := status.FromError(o.Err)
		if !ok {
			bad("ended with %q (%T), not a status error", o.Err, o.Err)
		}
		code = st.Code()
	}
	if !p.allowed(code, round) {
		bad("ended with %v (%v); its fault and the round's (%v) do not allow that", code, o.Err, round)
	}

	// Messages: exactly the expected ones, or a prefix of them.
	serverEnded := false // the call got the server's own end: its trailers
	switch {
	case code == codes.OK:
		serverEnded = true
		if want := p.want(); !slices.Equal(o.Msgs, want) {
			bad("ended OK with responses %s, want %s", short(o.Msgs), short(want))
		}
	case p.Fault == Abort && code == codes.Aborted:
		serverEnded = true
		if want := p.wantBeforeAbort(); !slices.Equal(o.Msgs, want) {
			bad("aborted after %d messages with responses %s, want %s", p.At, short(o.Msgs), short(want))
		}
		if st, _ := status.FromError(o.Err); st.Message() != AbortMessage {
			bad("aborted with message %q, want %q", st.Message(), AbortMessage)
		}
	case p.Kind == Unary || p.Kind == ClientStream && withStatus:
		if len(o.Msgs) > 0 {
			bad("failed (%v) but returned a response %s", code, short(o.Msgs))
		}
	default:
		if full := p.want(); len(o.Msgs) > len(full) || !slices.Equal(o.Msgs, full[:len(o.Msgs)]) {
			bad("failed after responses %s, which are not a prefix of %s", short(o.Msgs), short(full))
		}
	}

	// Response metadata: the server sends its headers first and sets its
	// trailers at the start of every call.
	id := strconv.FormatUint(p.ID, 10)
	checkMD := func(what string, md metadata.MD, key string) bool {
		v, ok := md[key]
		if ok && !slices.Equal(v, []string{id}) {
			bad("%s %s = %q: another call's metadata", what, key, v)
		}
		if !ok && serverEnded {
			bad("%s %v lacks %s although the call ended with the server's trailers (%v)", what, md, key, code)
		}
		return ok
	}
	checkMD("trailer", o.Trailer, TrailerKey)
	switch {
	case p.Kind == Unary:
		checkMD("header", o.Header, HeaderKey)
	case !o.HeaderCalled:
	case o.HeaderErr != nil:
		if _, ok := status.FromError(o.HeaderErr); !ok {
			bad("Header failed with %q (%T), not a status error", o.HeaderErr, o.HeaderErr)
		}
		if serverEnded {
			bad("Header failed (%v) but the call ended %v", o.HeaderErr, code)
		}
	default:
		if !checkMD("Header()", o.Header, HeaderKey) && !serverEnded && rec != nil && rec.headerSent.Load() {
			bad("Header() returned %v and no error, but the server had sent headers with %s", o.Header, HeaderKey)
		}
	}

	// The server's records agree.
	if code == codes.OK && (rec == nil || !rec.completed.Load()) {
		bad("ended OK but the server never completed it (acknowledged, not done)")
	}
	if round == GracefulStop && code == codes.Unavailable && rec != nil {
		bad("failed Unavailable (%v) during a graceful stop although its handler ran: a graceful stop finishes the calls it accepted, and Unavailable must mean unprocessed", o.Err)
	}
	return ps
}

// short shows messages without their padding.
func short(msgs []string) string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		if len(m) > 40 {
			m = fmt.Sprintf("%s…(%d bytes)", m[:40], len(m))
		}
		out[i] = m
	}
	return fmt.Sprintf("%q", out)
}
