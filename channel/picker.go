package channel

import (
	"context"
	"errors"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/codes"
	"github.com/h2rpc/h2rpc/channel/connectivity"
	"github.com/h2rpc/h2rpc/channel/status"
	"github.com/h2rpc/h2rpc/stream"
)

// pickerState is the balancer's latest picker, with a channel closed when
// a newer one replaces it: a call that cannot be placed waits on it.
type pickerState struct {
	picker  balancer.Picker // nil until the balancer has published one
	state   connectivity.State
	changed chan struct{}
}

// updatePicker publishes a picker and the channel's state.
func (cc *ClientConn) updatePicker(p balancer.Picker, s connectivity.State) {
	cc.mu.Lock()
	if cc.closed && s != connectivity.Shutdown {
		cc.mu.Unlock()
		return
	}
	cc.setStateLocked(s)
	old := cc.picker.Swap(&pickerState{picker: p, state: s, changed: make(chan struct{})})
	cc.mu.Unlock()
	close(old.changed)
}

// noteError records the last connection error, for fail-fast calls.
func (cc *ClientConn) noteError(err error) {
	cc.mu.Lock()
	cc.lastErr = err
	cc.mu.Unlock()
}

// pick returns a READY connection for a call of method, and the
// balancer's callback for the call's outcome. Fail-fast calls fail with
// UNAVAILABLE while the balancer reports TRANSIENT_FAILURE; others wait
// for a picker that places them, until ctx ends.
func (cc *ClientConn) pick(ctx context.Context, waitForReady bool, method string) (*stream.Conn, func(balancer.DoneInfo), error) {
	cc.exitIdle()
	var lastErr error
	for {
		ps := cc.picker.Load()
		if ps.state == connectivity.Shutdown {
			return nil, nil, ErrClientConnClosing
		}
		if ps.picker != nil {
			res, err := ps.picker.Pick(balancer.PickInfo{FullMethodName: method, Ctx: ctx})
			switch {
			case err == nil:
				if sc, ok := res.SubConn.(*subConn); ok {
					if c := sc.ready.Load(); c != nil && !c.IsDraining() {
						return c, res.Done, nil
					}
				}
				// Not READY any more: a new picker is on its way.
				if res.Done != nil {
					res.Done(balancer.DoneInfo{})
				}
			case errors.Is(err, balancer.ErrNoSubConnAvailable):
			case isStatusError(err):
				return nil, nil, err
			default:
				if !waitForReady {
					return nil, nil, status.Errorf(codes.Unavailable, "connection error: %v", err)
				}
				lastErr = err
			}
		}
		select {
		case <-ps.changed:
		case <-ctx.Done():
			err := status.FromContextError(ctx.Err())
			if lastErr != nil {
				return nil, nil, status.Errorf(err.Code(), "%s while waiting for a connection; last error: %v", err.Message(), lastErr)
			}
			return nil, nil, err.Err()
		case <-cc.closingCtx.Done():
			return nil, nil, ErrClientConnClosing
		}
	}
}
