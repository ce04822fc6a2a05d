package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// hostFlags are the flags every policy-running subcommand accepts.
type hostFlags struct {
	searchRoots stringList
	logLevel    string
	timeout     time.Duration
	resolvers   resolverList
}

func (h *hostFlags) register(fs *flag.FlagSet) {
	fs.Var(&h.searchRoots, "search-root", "directory searched for Lua modules before /opt/kumomta (as DIR/?.lua and DIR/?/init.lua); repeatable.\nFor example a KumoMTA checkout's assets/ directory")
	def := os.Getenv("KUMOPOLICY_LOG")
	if def == "" {
		def = "info"
	}
	fs.StringVar(&h.logLevel, "log-level", def, "diagnostic log level: error, warn, info or debug (default from $KUMOPOLICY_LOG)")
	fs.DurationVar(&h.timeout, "timeout", 0, "cancel an event handler that runs longer than this (e.g. 30s); 0 means no limit")
	fs.Var(&h.resolvers, "resolver", "DNS server `IP:PORT` (IPv6: [ADDR]:PORT) for MX and address lookups instead of /etc/resolv.conf; repeatable, tried in order")
}

func (h *hostFlags) logger(stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch strings.ToLower(h.logLevel) {
	case "error":
		level = slog.LevelError
	case "warn", "warning":
		level = slog.LevelWarn
	case "info":
		level = slog.LevelInfo
	case "debug", "trace":
		level = slog.LevelDebug
	default:
		return nil, fmt.Errorf("invalid --log-level %q: want error, warn, info or debug", h.logLevel)
	}
	return slog.New(newLogHandler(stderr, level)), nil
}

func (h *hostFlags) context() (context.Context, context.CancelFunc) {
	if h.timeout > 0 {
		return context.WithTimeout(context.Background(), h.timeout)
	}
	return context.WithCancel(context.Background())
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// resolverList collects --resolver values, rejecting malformed ones while
// the flags are parsed (a usage error).
type resolverList []string

func (r *resolverList) String() string { return strings.Join(*r, ",") }
func (r *resolverList) Set(v string) error {
	if _, err := dns.ParseNameServer(v); err != nil {
		return err
	}
	*r = append(*r, v)
	return nil
}

// reportError prints a policy failure: the message, then for Lua errors the
// Lua stack.
func reportError(stderr io.Writer, err error) {
	fmt.Fprintf(stderr, "kumopolicy: %v\n", err)
	var le *luart.LuaError
	if errors.As(err, &le) && le.Traceback != "" {
		fmt.Fprintln(stderr, le.Traceback)
	}
}

func version() string {
	v := kumo.Version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
