package server

import (
	"io"
	"log/slog"

	"github.com/agentbot/gateway/core/config"
	"github.com/agentbot/gateway/core/logbuf"
)

// Logger returns the process's logger, writing to w at cfg.LogLevel in
// cfg.LogFormat. Unless cfg.LogBuffer is 0, info and debug lines (the access
// log: one per request) wait in memory for up to that long, and a warning or
// an error writes out everything before it at once (core/logbuf). closeLog
// writes out what is held and stops buffering; call it as the process exits.
func Logger(cfg *config.Config, w io.Writer) (log *slog.Logger, closeLog func()) {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	handler := func(w io.Writer) slog.Handler {
		opts := &slog.HandlerOptions{Level: level}
		if cfg.LogFormat == "json" {
			return slog.NewJSONHandler(w, opts)
		}
		return slog.NewTextHandler(w, opts)
	}
	if cfg.LogBuffer <= 0 {
		return slog.New(handler(w)), func() {}
	}
	bw := logbuf.New(w, cfg.LogBuffer, 0)
	return slog.New(logbuf.Urgent(handler(bw), bw, slog.LevelWarn)), func() { _ = bw.Close() }
}
