// Package logx holds the library's logger: where the layers report what a
// caller cannot see in a call's result (connection errors, GOAWAYs,
// keepalive strikes). It is silent until stub.SetLogger gives it a
// logger.
package logx

import (
	"context"
	"log/slog"
	"sync/atomic"
)

var logger atomic.Pointer[slog.Logger]

// Set sets the logger; nil silences it.
func Set(l *slog.Logger) { logger.Store(l) }

// Get returns the logger, or nil when it is silent.
func Get() *slog.Logger { return logger.Load() }

// Log logs msg at level with the attributes, if there is a logger and it
// is enabled for level. Callers are on rare paths (a connection ending, a
// GOAWAY), never on a call's.
func Log(level slog.Level, msg string, attrs ...slog.Attr) {
	l := logger.Load()
	if l == nil {
		return
	}
	ctx := context.Background()
	if l.Enabled(ctx, level) {
		l.LogAttrs(ctx, level, msg, attrs...)
	}
}
