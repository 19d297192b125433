package stream

import (
	"log/slog"

	"github.com/h2rpc/h2rpc/frame"
	"github.com/h2rpc/h2rpc/internal/logx"
)

// logGoAway tells the library's logger of a GOAWAY received: a graceful
// one (NO_ERROR) at info level, others as warnings.
func (c *Conn) logGoAway(g *GoAwayError) {
	level := slog.LevelWarn
	if g.Code == frame.ErrCodeNo {
		level = slog.LevelInfo
	}
	logx.Log(level, "h2rpc: GOAWAY received", slog.String("role", c.roleName()), slog.String("remote", c.remoteName()),
		slog.String("code", g.Code.String()), slog.Uint64("last_stream_id", uint64(g.LastStreamID)), slog.String("debug", g.Debug))
}

// roleName names a connection's role in log records.
func (c *Conn) roleName() string {
	if c.role == Client {
		return "client"
	}
	return "server"
}

// remoteName is the peer's address in log records.
func (c *Conn) remoteName() string {
	if a := c.nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}
