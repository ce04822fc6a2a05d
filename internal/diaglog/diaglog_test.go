package diaglog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestParseAndLevels(t *testing.T) {
	cases := []struct {
		filter string
		target string
		want   slog.Level
	}{
		{"", "lua", slog.LevelInfo},
		{"debug", "lua", slog.LevelDebug},
		{"WARN", "kumopolicy", slog.LevelWarn},
		{"kumod=debug", "kumopolicy", slog.LevelDebug}, // kumod names our own diagnostics too
		{"kumod=debug", "lua", LevelOff},               // EnvFilter: unnamed targets are off without a default
		{"info,lua=trace", "lua", LevelTrace},
		{"info,lua=trace", "kumopolicy", slog.LevelInfo},
		{"kumod=info,kumod::spool=debug", "kumod::spool::x", slog.LevelDebug},
		{"kumod=info,kumod::spool=debug", "kumod::logging", slog.LevelInfo},
		{"kumo=debug", "kumod", LevelOff}, // a prefix only matches at a module boundary
		{"lua", "lua", LevelTrace},        // a bare target enables every level
		{"error,lua[span{x=1}]=debug", "lua", slog.LevelDebug},
		{"lua=off,warn", "lua", LevelOff},
		{" debug , lua = error ", "lua", slog.LevelError},
	}
	for _, c := range cases {
		f, err := Parse(c.filter)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.filter, err)
		}
		if got := f.Level(c.target); got != c.want {
			t.Errorf("Parse(%q).Level(%q) = %v, want %v", c.filter, c.target, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"lua=loud", "=bogus", "a b=info"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	_, err := Parse("kumod=verbose")
	if err == nil || !strings.Contains(err.Error(), `directive "kumod=verbose": invalid level "verbose"`) {
		t.Errorf("error text: %v", err)
	}
}

func TestHandlerFiltersByTargetAndCanBeReplaced(t *testing.T) {
	var buf bytes.Buffer
	inner := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: LevelTrace})
	f, _ := Parse("warn")
	h := NewHandler(inner, f)
	log := slog.New(h)
	log.Info("hidden-info")
	log.Warn("shown-warn")
	log.Debug("hidden-lua-debug", "target", "lua")
	if err := h.SetFilter("warn,lua=debug"); err != nil {
		t.Fatal(err)
	}
	log.Debug("shown-lua-debug", "target", "lua")
	log.With("target", "lua").Debug("shown-with-attrs")
	log.Debug("hidden-own-debug")
	if err := h.SetFilter("lua=nonsense"); err == nil {
		t.Fatal("a bad filter was accepted")
	}
	log.Debug("kept-after-bad-filter", "target", "lua") // the bad filter left the old one in force
	out := buf.String()
	for _, want := range []string{"shown-warn", "shown-lua-debug", "shown-with-attrs", "kept-after-bad-filter"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	for _, not := range []string{"hidden-info", "hidden-lua-debug", "hidden-own-debug"} {
		if strings.Contains(out, not) {
			t.Errorf("%s logged:\n%s", not, out)
		}
	}
}

func TestParseOptionWantsLevelsForBareWords(t *testing.T) {
	if _, err := ParseOption("loud"); err == nil || !strings.Contains(err.Error(), `invalid level "loud"`) {
		t.Errorf("ParseOption(loud): %v", err)
	}
	if _, err := Parse("loud"); err != nil {
		t.Errorf("Parse(loud) (a target, as EnvFilter reads it): %v", err)
	}
	if f, err := ParseOption("debug,kumod=trace"); err != nil || f.Level("kumopolicy") != LevelTrace {
		t.Errorf("ParseOption(debug,kumod=trace): %v", err)
	}
}
