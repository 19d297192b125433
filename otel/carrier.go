package otelh2rpc

import (
	"github.com/h2rpc/h2rpc/channel/metadata"
)

// carrier lets a propagator read and write metadata.
type carrier metadata.MD

func (c carrier) Get(k string) string {
	if v := metadata.MD(c).Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c carrier) Set(k, v string) { metadata.MD(c).Set(k, v) }

func (c carrier) Keys() []string {
	ks := make([]string, 0, len(c))
	for k := range c {
		ks = append(ks, k)
	}
	return ks
}

// outCarrier collects what a propagator injects, as key-value pairs for
// metadata.AppendToOutgoingContext.
type outCarrier []string

func (c *outCarrier) Get(string) string { return "" }
func (c *outCarrier) Set(k, v string)   { *c = append(*c, k, v) }
func (c *outCarrier) Keys() []string    { return nil }
