package channel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/h2rpc/h2rpc/channel/balancer"
	"github.com/h2rpc/h2rpc/channel/serviceconfig"
)

// ServiceConfig is a parsed service config (gRPC's service_config.proto in
// JSON). Of it, the load-balancing policy is used today: the first policy
// of loadBalancingConfig that is registered, else loadBalancingPolicy.
type ServiceConfig struct {
	serviceconfig.Config

	lbName   string
	lbConfig serviceconfig.LoadBalancingConfig

	healthService *string // healthCheckConfig.serviceName; nil: no health checking
}

// parseServiceConfig parses a service config in JSON.
func parseServiceConfig(js string) (*ServiceConfig, error) {
	var raw struct {
		LoadBalancingPolicy string                       `json:"loadBalancingPolicy"`
		LoadBalancingConfig []map[string]json.RawMessage `json:"loadBalancingConfig"`
	}
	if err := json.Unmarshal([]byte(js), &raw); err != nil {
		return nil, fmt.Errorf("service config: %v", err)
	}
	sc := &ServiceConfig{}
	var err error
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
