package channel

import (
	"log/slog"

	"github.com/h2rpc/h2rpc/internal/logx"
)

// logConnectFailed tells the library's logger that a subchannel could not
// connect.
func logConnectFailed(addr string, failures int, err error) {
	logx.Log(slog.LevelWarn, "h2rpc: connecting failed", slog.String("addr", addr), slog.Int("failures", failures), slog.Any("err", err))
}
