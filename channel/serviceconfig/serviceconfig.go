package serviceconfig

// Config is a parsed service config. Only the channel layer makes them.
type Config interface {
	isServiceConfig()
}

// LoadBalancingConfig is the configuration of one load-balancing policy,
// as its balancer.ConfigParser parsed it from the service config's
// loadBalancingConfig. Policies embed this interface in their config type.
type LoadBalancingConfig interface {
	isLoadBalancingConfig()
}

// ParseResult is a service config parsed from JSON, or why it could not
// be: exactly one of Config and Err is set.
type ParseResult struct {
	Config Config
	Err    error
}
