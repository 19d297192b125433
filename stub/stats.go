package stub

import (
	"github.com/h2rpc/h2rpc/channel"
	"github.com/h2rpc/h2rpc/channel/stats"
)

// WithStatsHandler adds a stats handler to the client: it is told of every
// call attempt (TagRPC, then Begin to End) and connection. Several may be
// added; each is told of every event, in the order they were added.
func WithStatsHandler(h stats.Handler) DialOption {
	return WithChannelOptions(channel.WithStatsHandler(h))
}

// StatsHandler adds a stats handler to the server: it is told of every
// call (TagRPC, whose context the handler gets, then InHeader to End) and
// connection. Several may be added, told in order.
func StatsHandler(h stats.Handler) ServerOption {
	return func(o *serverOptions) {
		if h == nil {
			return
		}
		o.tuning = append(o.tuning, func(s *Server) { s.cfg.StatsHandlers = append(s.cfg.StatsHandlers, h) })
	}
}

// StaticMethodCallOption marks a call's method as one of generated code
// (StaticMethod), so that instrumentation may name it in its metrics; gRFC
// A66 names every other method "other".
type StaticMethodCallOption struct{ EmptyCallOption }

// StaticMethod returns a StaticMethodCallOption.
func StaticMethod() CallOption { return StaticMethodCallOption{} }
