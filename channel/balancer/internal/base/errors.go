package base

import (
	"errors"
	"fmt"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
	"github.com/h2rpc/h2rpc/channel/status"
)

// ErrPicker is a picker that fails every pick with Err.
type ErrPicker struct {
	Err error
}

// Pick returns p.Err.
func (p *ErrPicker) Pick(balancer.PickInfo) (balancer.PickResult, error) {
	return balancer.PickResult{}, p.Err
}

// NewErrPicker returns a picker that fails every pick with err.
func NewErrPicker(err error) balancer.Picker { return &ErrPicker{Err: err} }

// FailureError returns the error a picker in TRANSIENT_FAILURE gives:
// what, followed by err. It never carries a status, even when err does, so
// that the channel fails fail-fast calls with UNAVAILABLE and lets
// wait-for-ready calls wait, as gRPC requires of connection failures;
// errors.Is still sees through it to err when err has no status.
func FailureError(what string, err error) error {
	switch {
	case err == nil:
		return errors.New(what)
	case hasStatus(err):
		return errors.New(what + ": " + err.Error())
	}
	return fmt.Errorf("%s: %w", what, err)
}

// hasStatus reports whether err, or an error it wraps, carries a status.
func hasStatus(err error) bool {
	var gs interface{ GRPCStatus() *status.Status }
	return errors.As(err, &gs)
}

// OwnConfig returns the policy's config from cfg, which must be nil
// (then cur is kept) or a *T; anything else is an error wrapping
// balancer.ErrBadResolverState.
func OwnConfig[T any](policy string, cfg serviceconfig.LoadBalancingConfig, cur T) (T, error) {
	if cfg == nil {
		return cur, nil
	}
	if c, ok := any(cfg).(*T); ok {
		return *c, nil
	}
	return cur, fmt.Errorf("%s: the balancer config is not its own (%T): %w", policy, cfg, balancer.ErrBadResolverState)
}
