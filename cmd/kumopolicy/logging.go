package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// logHandler writes one line per record:
//
//	2026-11-22T10:00:00.000Z  INFO lua: init.lua:12: message key=value
//
// Records with a `target` attribute use it as the prefix (kumo.log_* use
// "lua"); others use "kumopolicy".
type logHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
}

func newLogHandler(w io.Writer, level slog.Level) *logHandler {
	return &logHandler{mu: &sync.Mutex{}, w: w, level: level}
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	target := "kumopolicy"
	var extra strings.Builder
	add := func(a slog.Attr) bool {
		if a.Key == "target" {
			target = a.Value.String()
			return true
		}
		fmt.Fprintf(&extra, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	level := r.Level.String()
	if r.Level < slog.LevelDebug {
		level = "TRACE"
	}
	line := fmt.Sprintf("%s %5s %s: %s%s\n", r.Time.UTC().Format("2006-01-02T15:04:05.000Z"), level, target, r.Message, extra.String())
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, line)
	return err
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &n
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }
