package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// ServiceConfig is a parsed service config (gRPC's service_config.proto in
// JSON): the load-balancing policy (the first policy of
// loadBalancingConfig that is registered, else loadBalancingPolicy), the
// method configs (timeout, waitForReady, message size limits, retry or
// hedging policy), retryThrottling and healthCheckConfig.
type ServiceConfig struct {
	serviceconfig.Config

	lbName   string
	lbConfig serviceconfig.LoadBalancingConfig

	methods       methodConfigs
	throttle      *throttlePolicy
	healthService *string // healthCheckConfig.serviceName; nil: no health checking
}

// callConfig is the service config calls use, with the retry throttle
// that goes with it.
type callConfig struct {
	sc  *ServiceConfig // nil: none
	thr *throttler
}

// lookup returns the method config of method, nil for none.
func (c *callConfig) lookup(method string) *methodConfig {
	if c.sc == nil {
		return nil
	}
	return c.sc.methods.lookup(method)
}

// setConfig makes sc the config of new calls; a new config brings a new
// throttle, as in grpc-go.
func (cc *ClientConn) setConfig(sc *ServiceConfig) {
	old := cc.cfg.Load()
	if old != nil && old.sc == sc {
		return
	}
	c := &callConfig{sc: sc}
	if sc != nil {
		c.thr = newThrottler(sc.throttle)
	}
	cc.cfg.Store(c)
	if old == nil {
		close(cc.firstCfg)
	}
}

// config returns the service config for a call, waiting for the
// resolver's first answer if it has not come yet.
func (cc *ClientConn) config(ctx context.Context) (*callConfig, error) {
	if c := cc.cfg.Load(); c != nil {
		return c, nil
	}
	cc.exitIdle()
	select {
	case <-cc.firstCfg:
		return cc.cfg.Load(), nil
	case <-ctx.Done():
		return nil, contextError(ctx.Err())
	case <-cc.closingCtx.Done():
		return nil, ErrClientConnClosing
	}
}

// parseServiceConfig parses a service config in JSON.
func parseServiceConfig(js string) (*ServiceConfig, error) {
	var raw struct {
		LoadBalancingPolicy string                       `json:"loadBalancingPolicy"`
		LoadBalancingConfig []map[string]json.RawMessage `json:"loadBalancingConfig"`
		MethodConfig        []jsonMethodConfig           `json:"methodConfig"`
		RetryThrottling     *jsonThrottle                `json:"retryThrottling"`
	}
	if err := json.Unmarshal([]byte(js), &raw); err != nil {
		return nil, fmt.Errorf("service config: %v", err)
	}
	sc := &ServiceConfig{}
	var err error
	if sc.methods, err = parseMethodConfigs(raw.MethodConfig); err != nil {
		return nil, fmt.Errorf("service config: %v", err)
	}
	if raw.RetryThrottling != nil {
		if sc.throttle, err = raw.RetryThrottling.parse(); err != nil {
			return nil, fmt.Errorf("service config: %v", err)
		}
	}
	if sc.healthService, err = parseHealthCheckConfig(js); err != nil {
		return nil, err
	}
	if raw.LoadBalancingConfig != nil {
		var names []string
		for _, entry := range raw.LoadBalancingConfig {
			if len(entry) != 1 {
				return nil, errors.New("service config: each loadBalancingConfig entry must name exactly one policy")
			}
			for name, cfg := range entry {
				names = append(names, name)
				if sc.lbName != "" {
					continue
				}
				b := balancer.Get(name)
				if b == nil {
					continue
				}
				sc.lbName = name
				if p, ok := b.(balancer.ConfigParser); ok {
					c, err := p.ParseConfig(cfg)
					if err != nil {
						return nil, fmt.Errorf("service config: policy %q: %v", name, err)
					}
					sc.lbConfig = c
				}
			}
		}
		if sc.lbName == "" {
			return nil, fmt.Errorf("service config: no supported policy in loadBalancingConfig (%s)", strings.Join(names, ", "))
		}
		return sc, nil
	}
	if p := raw.LoadBalancingPolicy; p != "" {
		name := strings.ToLower(p)
		if balancer.Get(name) == nil {
			return nil, fmt.Errorf("service config: unknown loadBalancingPolicy %q", p)
		}
		sc.lbName = name
	}
	return sc, nil
}
