package lifecycle

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/frame"
)

// TestPlanMetadataRoundTrip: the server reads back the part of the plan
// it plays.
func TestPlanMetadataRoundTrip(t *testing.T) {
	p := Plan{ID: 42, Kind: Bidi, N: 5, Pad: 7, Pace: 1500, Fault: Reset, At: 3, Code: frame.ErrCodeEnhanceYourCalm}
	ctx := metadata.NewIncomingContext(context.Background(), p.Metadata())
	sp, err := serverPlanOf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := serverPlan{id: 42, n: 5, pad: 7, pace: 1500, fault: Reset, at: 3, code: frame.ErrCodeEnhanceYourCalm}
	if *sp != want {
		t.Fatalf("server plan %+v, want %+v", *sp, want)
	}
	if _, err := serverPlanOf(context.Background()); err == nil {
		t.Fatal("no metadata: no error")
	}
}

// TestProblems: the checks find what is wrong with an outcome, and
// nothing in a right one.
func TestProblems(t *testing.T) {
	stream := Plan{ID: 7, Kind: ServerStream, N: 2, Header: headerConcurrent}
	id := "7"
	good := func() *Outcome {
		return &Outcome{
			Plan:         stream,
			Msgs:         []string{Response(7, 0, 0), Response(7, 1, 0)},
			Header:       metadata.Pairs(HeaderKey, id),
			HeaderCalled: true,
			Trailer:      metadata.Pairs(TrailerKey, id),
		}
	}
	served := func(headerSent, completed bool) *Ledger {
		l := NewLedger()
		r := l.start(7)
		r.headerSent.Store(headerSent)
		r.completed.Store(completed)
		return l
	}
	for _, tc := range []struct {
		name  string
		edit  func(o *Outcome)
		round Fault
		l     *Ledger
		want  string // in the problems; "" for none
	}{
		{name: "right", l: served(true, true)},
		{name: "wrong message", edit: func(o *Outcome) { o.Msgs[1] = "x" }, l: served(true, true), want: "ended OK with responses"},
		{name: "message missing", edit: func(o *Outcome) { o.Msgs = o.Msgs[:1] }, l: served(true, true), want: "ended OK with responses"},
		{name: "code the fault does not allow", edit: func(o *Outcome) { o.Err = status.Error(codes.Canceled, "x"); o.Msgs = nil }, l: served(true, false), want: "do not allow"},
		{name: "code the round allows", edit: func(o *Outcome) { o.Err = status.Error(codes.Canceled, "x"); o.Msgs = nil; o.HeaderErr = o.Err }, round: CloseClient, l: served(true, false)},
		{name: "not a status error", edit: func(o *Outcome) { o.Err = errors.New("plain"); o.Msgs = nil }, l: served(true, false), want: "not a status error"},
		{name: "not a prefix", edit: func(o *Outcome) { o.Err = status.Error(codes.Unavailable, "x"); o.Msgs = o.Msgs[1:] }, round: HardStop, l: served(true, false), want: "not a prefix"},
		{name: "empty header with the server's headers sent", edit: func(o *Outcome) {
			o.Err = status.Error(codes.Unavailable, "x")
			o.Header = metadata.MD{}
		}, round: HardStop, l: served(true, false), want: "server had sent headers"},
		{name: "empty header on an OK call", edit: func(o *Outcome) { o.Header = metadata.MD{} }, l: served(true, true), want: "lacks lc-header"},
		{name: "another call's trailer", edit: func(o *Outcome) { o.Trailer = metadata.Pairs(TrailerKey, "8") }, l: served(true, true), want: "another call's metadata"},
		{name: "no trailer on an OK call", edit: func(o *Outcome) { o.Trailer = nil }, l: served(true, true), want: "lacks lc-trailer"},
		{name: "acknowledged but not done", l: served(true, false), want: "never completed"},
		{name: "graceful stop lost an accepted call", edit: func(o *Outcome) {
			o.Err = status.Error(codes.Unavailable, "x")
			o.Msgs, o.HeaderErr = nil, o.Err
		}, round: GracefulStop, l: served(false, false), want: "graceful stop"},
		{name: "graceful stop refused an unprocessed call", edit: func(o *Outcome) {
			o.Err = status.Error(codes.Unavailable, "x")
			o.Msgs, o.HeaderErr = nil, o.Err
		}, round: GracefulStop, l: NewLedger()},
	} {
		o := good()
		if tc.edit != nil {
			tc.edit(o)
		}
		ps := strings.Join(o.problems(tc.round, tc.l, true), "\n")
		if tc.want == "" && ps != "" || !strings.Contains(ps, tc.want) {
			t.Errorf("%s: problems %q, want %q", tc.name, ps, tc.want)
		}
	}
}

// TestResponseBeforeFailure: the response of a client-streaming call
// that then fails is wrong only where the layer promises it comes with the
// status.
func TestResponseBeforeFailure(t *testing.T) {
	o := &Outcome{
		Plan: Plan{ID: 5, Kind: ClientStream, N: 1},
		Err:  status.Error(codes.Unavailable, "x"),
		Msgs: []string{Joined([]string{Request(5, 0, 0)})},
	}
	if ps := o.problems(HardStop, NewLedger(), false); len(ps) > 0 {
		t.Errorf("byte-level: %q", ps)
	}
	if ps := o.problems(HardStop, NewLedger(), true); len(ps) != 1 || !strings.Contains(ps[0], "returned a response") {
		t.Errorf("typed: %q", ps)
	}
}

// TestAbortAllowsOnlyAborted: a call whose handler aborts never ends OK,
// and gets exactly the responses sent before the abort.
func TestAbortAllowsOnlyAborted(t *testing.T) {
	p := Plan{ID: 3, Kind: Bidi, N: 4, Fault: Abort, At: 2}
	if p.allowed(codes.OK, NoFault) || !p.allowed(codes.Aborted, NoFault) || !p.allowed(codes.Unavailable, HardStop) {
		t.Fatal("wrong codes allowed for an abort")
	}
	want := []string{Echo(Request(3, 0, 0)), Echo(Request(3, 1, 0))}
	if got := p.wantBeforeAbort(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("before abort %q, want %q", got, want)
	}
}
