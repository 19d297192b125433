package stub_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/metadata"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/internal/faultsvc"
	"github.com/h2rpc/h2rpc/internal/leakcheck"
	"github.com/h2rpc/h2rpc/stub"
)

// randomScript returns a script of 1 to 3 actions and the status a call
// with retryUnavailable's policy (3 attempts) ends with.
func randomScript(r *rand.Rand) (string, codes.Code) {
	kinds := []string{"UNAVAILABLE", "OK", "INTERNAL", "headers;UNAVAILABLE", "UNAVAILABLE;pushback=1"}
	n := 1 + r.IntN(3)
	var acts []string
	want := codes.Code(255)
	for i := range n {
		k := kinds[r.IntN(len(kinds))]
		if r.IntN(3) == 0 {
			k = fmt.Sprintf("delay=%d;%s", r.IntN(3), k)
		}
		acts = append(acts, k)
		if want != 255 {
			continue
		}
		switch {
		case strings.HasSuffix(k, "OK"):
			want = codes.OK
		case strings.Contains(k, "INTERNAL"):
			want = codes.Internal
		case strings.Contains(k, "headers"):
			want = codes.Unavailable
		case i == 2:
			want = codes.Unavailable
		}
	}
	if want == 255 {
		// The last action repeats until the third attempt.
		last := acts[len(acts)-1]
		switch {
		case strings.HasSuffix(last, "OK"):
			want = codes.OK
		case strings.Contains(last, "INTERNAL"):
			want = codes.Internal
		default:
			want = codes.Unavailable
		}
	}
	return strings.Join(acts, ","), want
}

// TestRetryRandomized: calls of both kinds with random scripts, from
// several goroutines, some cancelled at a random moment: each ends with
// the status its script implies, or CANCELLED when it was cancelled, and
// nothing is left running (hedges included).
func TestRetryRandomized(t *testing.T) {
	leakcheck.Check(t)
	log := &faultsvc.Log{}
	var addrs []string
	for i := range 2 {
		a, _ := faultServer(t, fmt.Sprint("s", i), log)
		addrs = append(addrs, a)
	}
	retry := faultClient(t, fmt.Sprintf(retryUnavailable, 3), addrs)
	hedged := faultClient(t, fmt.Sprintf(hedge, 3, "0.001s"), addrs)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(g)))
			for i := range 60 {
				script, want := randomScript(r)
				ctx, cancel := context.WithCancel(ctxT(t))
				cancelled := r.IntN(4) == 0
				if cancelled {
					time.AfterFunc(time.Duration(r.IntN(3000))*time.Microsecond, cancel)
				}
				id := fmt.Sprint("r", g, "-", i)
				ctx = metadata.AppendToOutgoingContext(ctx, "fault-id", id, "fault-script", script)
				var err error
				kind := r.IntN(4)
				switch kind {
				case 0:
					err = retry.Invoke(ctx, faultsvc.UnaryMethod, wrapperspb.String("x"), new(wrapperspb.StringValue))
				case 1:
					err = randomStream(ctx, retry)
				default:
					// Hedged: any attempt's outcome may win, so only the
					// set of possible codes is known.
					if kind == 2 {
						err = hedged.Invoke(ctx, faultsvc.UnaryMethod, wrapperspb.String("x"), new(wrapperspb.StringValue))
					} else {
						err = randomStream(ctx, hedged)
					}
					if c := status.Code(err); c != codes.OK && c != codes.Unavailable && c != codes.Internal && !(cancelled && c == codes.Canceled) {
						t.Errorf("hedged %q: %v", script, err)
					}
					cancel()
					continue
				}
				cancel()
				if c := status.Code(err); c != want && !(cancelled && c == codes.Canceled) {
					t.Errorf("%q (kind %d, cancelled %v): %v, want %v; attempts %d", script, kind, cancelled, err, want, len(log.Attempts(id)))
				}
			}
		}()
	}
	wg.Wait()
}

// randomStream makes a bidirectional call of three messages.
func randomStream(ctx context.Context, cc *stub.ClientConn) error {
	s, err := cc.NewStream(ctx, &stub.StreamDesc{ServerStreams: true, ClientStreams: true}, faultsvc.StreamMethod)
	if err != nil {
		return err
	}
	for _, m := range []string{"a", "b", "c"} {
		if err := s.SendMsg(wrapperspb.String(m)); err != nil {
			break
		}
	}
	s.CloseSend()
	var got string
	for {
		m := new(wrapperspb.StringValue)
		if err := s.RecvMsg(m); err != nil {
			if errors.Is(err, io.EOF) {
				if got != "a+b+c" {
					return status.Errorf(codes.DataLoss, "reply %q", got)
				}
				return nil
			}
			return err
		}
		got += m.Value
	}
}
