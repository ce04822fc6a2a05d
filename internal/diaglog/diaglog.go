package diaglog

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
)

// LevelTrace is below slog's Debug; LevelOff disables a target.
const (
	LevelTrace = slog.LevelDebug - 4
	LevelOff   = slog.Level(1 << 10)
)

// DefaultTarget is the target of records that carry none.
const DefaultTarget = "kumopolicy"

// aliases lists, for a record target, the directive targets that also
// apply to it.
var aliases = map[string][]string{
	DefaultTarget: {"kumod"},
}

// Filter is a parsed directive list. The zero value lets everything through.
type Filter struct {
	text       string
	def        slog.Level
	hasDefault bool
	targets    []directive // longest target first
}

type directive struct {
	target string
	level  slog.Level
}

// Parse parses a directive list as kumo.set_diagnostic_log_filter takes
// it. An empty string means "info".
func Parse(text string) (*Filter, error) { return parse(text, false) }

// ParseOption parses a directive list given on the command line or in the
// environment: like Parse, but a bare word must be a level, since a bare
// target there ("--log-level loud") is far more likely a typo.
func ParseOption(text string) (*Filter, error) { return parse(text, true) }

func parse(text string, strict bool) (*Filter, error) {
	f := &Filter{text: text, def: LevelOff}
	if strings.TrimSpace(text) == "" {
		f.def, f.hasDefault = slog.LevelInfo, true
		return f, nil
	}
	for _, raw := range strings.Split(text, ",") {
		d := strings.TrimSpace(raw)
		if d == "" {
			continue
		}
		// The level follows the last '=': field selectors may hold '='.
		target, levelText, hasLevel := d, "", false
		if i := strings.LastIndex(d, "="); i >= 0 {
			target, levelText, hasLevel = d[:i], d[i+1:], true
		}
		if !hasLevel {
			// A bare word is a level when it names one, else a target
			// enabled at every level.
			if l, err := parseLevel(d); err == nil {
				f.def, f.hasDefault = l, true
				continue
			} else if strict {
				return nil, err
			}
			levelText = "trace"
		}
		level, err := parseLevel(strings.TrimSpace(levelText))
		if err != nil {
			return nil, fmt.Errorf("directive %q: %v", d, err)
		}
		// Span and field selectors narrow a directive in EnvFilter; with
		// no spans here the directive covers its whole target.
		if i := strings.IndexAny(target, "[{"); i >= 0 {
			target = target[:i]
		}
		target = strings.TrimSpace(target)
		if target == "" {
			f.def, f.hasDefault = level, true
			continue
		}
		if strings.ContainsAny(target, " \t\"'") {
			return nil, fmt.Errorf("directive %q: invalid target %q", d, target)
		}
		f.targets = append(f.targets, directive{target, level})
	}
	sort.SliceStable(f.targets, func(i, j int) bool { return len(f.targets[i].target) > len(f.targets[j].target) })
	return f, nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "trace", "5":
		return LevelTrace, nil
	case "debug", "4":
		return slog.LevelDebug, nil
	case "info", "3":
		return slog.LevelInfo, nil
	case "warn", "warning", "2":
		return slog.LevelWarn, nil
	case "error", "1":
		return slog.LevelError, nil
	case "off", "0":
		return LevelOff, nil
	}
	return 0, fmt.Errorf("invalid level %q: want trace, debug, info, warn, error or off", s)
}

// String returns the text the filter was parsed from.
func (f *Filter) String() string { return f.text }

// Level returns the lowest level enabled for target.
func (f *Filter) Level(target string) slog.Level {
	if f == nil || (f.text == "" && !f.hasDefault && len(f.targets) == 0) {
		return LevelTrace
	}
	names := append([]string{target}, aliases[target]...)
	for _, d := range f.targets {
		for _, n := range names {
			if matchTarget(d.target, n) {
				return d.level
			}
		}
	}
	if f.hasDefault {
		return f.def
	}
	return LevelOff
}

// matchTarget reports whether directive target d covers record target t:
// equal, or a prefix of it at a module boundary ("kumod" covers
// "kumod::spool").
func matchTarget(d, t string) bool {
	return t == d || strings.HasPrefix(t, d+"::")
}

// minLevel is the lowest level any target can have enabled.
func (f *Filter) minLevel() slog.Level {
	if f == nil {
		return LevelTrace
	}
	m := LevelOff
	if f.hasDefault || len(f.targets) == 0 {
		m = f.Level("\x00")
	}
	for _, d := range f.targets {
		m = min(m, d.level)
	}
	return m
}

// Enabled reports whether a record of target at level passes.
func (f *Filter) Enabled(target string, level slog.Level) bool {
	return level >= f.Level(target) && level < LevelOff
}

// Handler is a slog.Handler that applies a Filter, replaceable at any
// time, before passing records to an inner handler.
type Handler struct {
	inner  slog.Handler
	filter *atomic.Pointer[Filter]
	target string // from WithAttrs, "" when none
}

// NewHandler wraps inner with filter (nil lets everything through).
func NewHandler(inner slog.Handler, filter *Filter) *Handler {
	p := &atomic.Pointer[Filter]{}
	p.Store(filter)
	return &Handler{inner: inner, filter: p}
}

// SetFilter parses text and, when it is valid, makes it the filter for
// this handler and every handler derived from it.
func (h *Handler) SetFilter(text string) error {
	f, err := Parse(text)
	if err != nil {
		return err
	}
	h.filter.Store(f)
	return nil
}

// Filter returns the filter in force.
func (h *Handler) Filter() *Filter { return h.filter.Load() }

// Enabled is true when some target may log at level; Handle decides per
// record once its target is known.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	f := h.filter.Load()
	if h.target != "" {
		if !f.Enabled(h.target, level) {
			return false
		}
	} else if level < f.minLevel() {
		return false
	}
	return h.inner.Enabled(ctx, level)
}

// EnabledFor reports whether a record of target at level would be logged.
func (h *Handler) EnabledFor(ctx context.Context, target string, level slog.Level) bool {
	return h.filter.Load().Enabled(target, level) && h.inner.Enabled(ctx, level)
}

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	target := h.target
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "target" {
			target = a.Value.String()
			return false
		}
		return true
	})
	if target == "" {
		target = DefaultTarget
	}
	if !h.filter.Load().Enabled(target, r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	for _, a := range attrs {
		if a.Key == "target" {
			n.target = a.Value.String()
		}
	}
	n.inner = h.inner.WithAttrs(attrs)
	return &n
}

func (h *Handler) WithGroup(name string) slog.Handler {
	n := *h
	n.inner = h.inner.WithGroup(name)
	return &n
}

// FilterSetter is implemented by handlers whose filter a policy may
// replace (kumo.set_diagnostic_log_filter).
type FilterSetter interface {
	SetFilter(text string) error
}
