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
	"strconv"
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
	fs.Var(durationFlag{&h.timeout}, "timeout", "cancel Lua code running longer than `DURATION` (e.g. 30s, 1m) with an error naming it. Each\nevent handler call, the policy's top-level chunk and each module it requires at load time\nhas its own budget; time spent before an event (DNS lookups) does not count. 0: no limit")
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

// context is the context of a command's dispatches. It has no deadline:
// --timeout is applied by the runtime to each handler and chunk on its own
// (see luart.Options.Timeout), so time the command spends before an event,
// such as resolve's MX lookup, does not count against it.
func (h *hostFlags) context() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// durationFlag is a non-negative duration flag whose parse errors say what
// is wrong ("5" lacks a unit) instead of Go's bare "parse error".
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return "0"
	}
	return f.d.String()
}

func (f durationFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		if n, nerr := strconv.ParseFloat(v, 64); nerr == nil {
			if n < 0 {
				return errors.New("a timeout cannot be negative (0 means no limit)")
			}
			return fmt.Errorf("a duration needs a unit, e.g. %ss", v)
		}
		return errors.New("not a duration; use a number with a unit: ms, s, m or h, e.g. 30s or 1m30s")
	}
	if d < 0 {
		return errors.New("a timeout cannot be negative (0 means no limit)")
	}
	*f.d = d
	return nil
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

// reportError prints a policy failure: the message, then for Lua errors and
// cancelled handlers or chunks the Lua stack.
func reportError(stderr io.Writer, err error) {
	fmt.Fprintf(stderr, "kumopolicy: %v\n", err)
	var le *luart.LuaError
	var te *luart.TimeoutError
	switch {
	case errors.As(err, &le) && le.Traceback != "":
		fmt.Fprintln(stderr, le.Traceback)
	case errors.As(err, &te) && te.Traceback != "":
		fmt.Fprintln(stderr, te.Traceback)
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
