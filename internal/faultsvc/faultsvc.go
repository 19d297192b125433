// Package faultsvc is a gRPC service that fails on purpose, attempt by
// attempt, for testing retries and hedging: each call names itself (the
// metadata key "fault-id") and carries a script (key "fault-script") of
// what the server does on its 1st, 2nd, … attempt. The server records
// every attempt it sees, with its grpc-previous-rpc-attempts header, so
// tests can compare exact attempt counts and headers across clients.
//
// A script is actions separated by ','; the last one repeats. An action is
// items separated by ';':
//
//	OK | CODE          end with OK (reply "attempt N") or a status code by name
//	delay=MS           wait first (or until the call is cancelled)
//	pushback=V         send grpc-retry-pushback-ms: V in the trailers
//	headers            send response headers before ending
//	message            send one response message before ending (streams)
//	hang               never end: wait until the call is cancelled
//
// Example: "UNAVAILABLE;pushback=10,delay=50;OK".
//
// Unary is a unary method; Stream is a bidirectional one that reads every
// request first (recording them, to check replays), then follows the
// script, replying with the requests it read joined by '+'.
package faultsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stub"
)

// The service's and methods' names.
const (
	ServiceName  = "faultsvc.Fault"
	UnaryMethod  = "/faultsvc.Fault/Unary"
	StreamMethod = "/faultsvc.Fault/Stream"
)

// Attempt is one attempt as the server saw it.
type Attempt struct {
	// Previous is the grpc-previous-rpc-attempts header, "" if absent.
	Previous string
	// At is when the attempt arrived.
	At time.Time
	// Server is the Name of the server that saw it.
	Server string
	// Requests are the messages of a Stream attempt.
	Requests []string
}

// Log records the attempts of calls, by fault-id; several servers may
// share one.
type Log struct {
	mu    sync.Mutex
	calls map[string][]Attempt
}

// Attempts returns the attempts seen of the call id.
func (l *Log) Attempts(id string) []Attempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Attempt(nil), l.calls[id]...)
}

// add records an attempt and returns its index.
func (l *Log) add(id string, a Attempt) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[string][]Attempt{}
	}
	l.calls[id] = append(l.calls[id], a)
	return len(l.calls[id]) - 1
}

// setRequests records the requests of attempt i of id.
func (l *Log) setRequests(id string, i int, reqs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[id][i].Requests = reqs
}

// Server serves the fault service, recording attempts in Log.
type Server struct {
	Name string
	Log  *Log
}

// Register registers the service on s.
func (f *Server) Register(s *stub.Server) {
	s.RegisterService(&stub.ServiceDesc{
		ServiceName: ServiceName,
		HandlerType: (*any)(nil),
		Methods:     []stub.MethodDesc{{MethodName: "Unary", Handler: f.unary}},
		Streams: []stub.StreamDesc{{
			StreamName: "Stream", Handler: f.stream, ServerStreams: true, ClientStreams: true,
		}},
	}, f)
}

// Action is one step of a script.
type Action struct {
	Code     codes.Code
	Delay    time.Duration
	Pushback string // "" for none
	Headers  bool
	Message  bool
	Hang     bool
}

// Parse parses a script.
func Parse(script string) ([]Action, error) {
	var acts []Action
	for _, a := range strings.Split(script, ",") {
		var act Action
		named := false
		for _, item := range strings.Split(a, ";") {
			k, v, hasV := strings.Cut(strings.TrimSpace(item), "=")
			switch {
			case k == "delay" && hasV:
				ms, err := strconv.Atoi(v)
				if err != nil || ms < 0 {
					return nil, fmt.Errorf("faultsvc: bad delay %q", v)
				}
				act.Delay = time.Duration(ms) * time.Millisecond
			case k == "pushback" && hasV:
				act.Pushback = v
			case k == "headers" && !hasV:
				act.Headers = true
			case k == "message" && !hasV:
				act.Message = true
			case k == "hang" && !hasV:
				act.Hang = true
			case !hasV && !named:
				c, ok := codeByName(k)
				if !ok {
					return nil, fmt.Errorf("faultsvc: unknown item %q", k)
				}
				act.Code, named = c, true
			default:
				return nil, fmt.Errorf("faultsvc: unknown item %q", item)
			}
		}
		if !named && !act.Hang {
			return nil, fmt.Errorf("faultsvc: action %q names no code", a)
		}
		acts = append(acts, act)
	}
	return acts, nil
}

func codeByName(name string) (codes.Code, bool) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		if strings.EqualFold(strings.ReplaceAll(name, "_", ""), c.String()) || name == "CANCELLED" && c == codes.Canceled {
			return c, true
		}
	}
	return 0, false
}

// begin records an attempt and returns its index, the call id and the
// action for it.
func (f *Server) begin(ctx context.Context) (int, string, Action, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	id := first(md["fault-id"])
	acts, err := Parse(first(md["fault-script"]))
	if err != nil {
		return 0, "", Action{}, status.Error(codes.InvalidArgument, err.Error())
	}
	i := f.Log.add(id, Attempt{Previous: first(md["grpc-previous-rpc-attempts"]), At: time.Now(), Server: f.Name})
	return i, id, acts[min(i, len(acts)-1)], nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// perform waits and sends what act says before the call's end; it returns
// the call's status.
func perform(ctx context.Context, act Action, send func() error) error {
	if act.Delay > 0 {
		t := time.NewTimer(act.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	if act.Hang {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	if act.Pushback != "" {
		stub.SetTrailer(ctx, metadata.Pairs("grpc-retry-pushback-ms", act.Pushback))
	}
	if act.Headers {
		if err := stub.SendHeader(ctx, metadata.Pairs("fault-headers", "1")); err != nil {
			return err
		}
	}
	if act.Message && send != nil {
		if err := send(); err != nil {
			return err
		}
	}
	if act.Code != codes.OK {
		return status.Errorf(act.Code, "fault: %v", act.Code)
	}
	return nil
}

func (f *Server) unary(_ any, ctx context.Context, dec func(any) error, _ stub.UnaryServerInterceptor) (any, error) {
	req := new(wrapperspb.StringValue)
	if err := dec(req); err != nil {
		return nil, err
	}
	i, _, act, err := f.begin(ctx)
	if err != nil {
		return nil, err
	}
	if err := perform(ctx, act, nil); err != nil {
		return nil, err
	}
	return wrapperspb.String("attempt " + strconv.Itoa(i+1)), nil
}

func (f *Server) stream(_ any, ss stub.ServerStream) error {
	ctx := ss.Context()
	i, id, act, err := f.begin(ctx)
	if err != nil {
		return err
	}
	var reqs []string
	for {
		m := new(wrapperspb.StringValue)
		if err := ss.RecvMsg(m); err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			break
		}
		reqs = append(reqs, m.Value)
	}
	f.Log.setRequests(id, i, reqs)
	reply := func() error { return ss.SendMsg(wrapperspb.String(strings.Join(reqs, "+"))) }
	if err := perform(ctx, act, reply); err != nil {
		return err
	}
	if !act.Message {
		return reply()
	}
	return nil
}
