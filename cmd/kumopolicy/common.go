package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/diaglog"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// hostFlags are the flags every policy-running subcommand accepts.
type hostFlags struct {
	searchRoots stringList
	logLevel    string
	logLevelSet bool // --log-level given (else logLevel is $KUMOPOLICY_LOG)
	timeout     time.Duration
	resolvers   resolverList
	shareDir    string // stands in for /opt/kumomta/share
	etcDir      string // stands in for /opt/kumomta/etc
}

// installDirs are the --share-dir and --etc-dir defaults: empty means
// /opt/kumomta/share and /opt/kumomta/etc themselves. Tests point them at
// empty directories so that a KumoMTA install on the machine changes
// nothing.
var installDirs struct{ share, etc string }

func (h *hostFlags) register(fs *flag.FlagSet) {
	fs.Var(&h.searchRoots, "search-root", "directory searched for Lua modules before /opt/kumomta (as DIR/?.lua and DIR/?/init.lua); repeatable.\nFor example a KumoMTA checkout's assets/ directory")
	h.logLevel = os.Getenv("KUMOPOLICY_LOG")
	fs.Func("log-level", "diagnostic log `FILTER`: a level (error, warn, info, debug, trace, off) or KumoMTA's\ndirectives, e.g. kumod=debug,lua=info (default info, or $KUMOPOLICY_LOG)", func(v string) error {
		h.logLevel, h.logLevelSet = v, true
		return nil
	})
	fs.StringVar(&h.shareDir, "share-dir", installDirs.share, "`DIR` that stands in for /opt/kumomta/share: require roots and the shaping files a policy\nnames there are found under DIR (for example a KumoMTA checkout's assets/)")
	fs.StringVar(&h.etcDir, "etc-dir", installDirs.etc, "`DIR` that stands in for /opt/kumomta/etc (the default policy is DIR/policy/init.lua)")
	fs.Var(durationFlag{&h.timeout}, "timeout", "cancel Lua code running longer than `DURATION` (e.g. 30s, 1m) with an error naming it. Each\nevent handler call, the policy's top-level chunk and each module it requires at load time\nhas its own budget; time spent before an event (DNS lookups) does not count. 0: no limit")
	fs.Var(&h.resolvers, "resolver", "DNS server `IP:PORT` (IPv6: [ADDR]:PORT) for MX and address lookups instead of /etc/resolv.conf; repeatable, tried in order")
}

// logger builds the diagnostic logger: lines on stderr, filtered by
// --log-level or $KUMOPOLICY_LOG (the filter kumo.set_diagnostic_log_filter
// replaces).
func (h *hostFlags) logger(stderr io.Writer) (*slog.Logger, error) {
	return newLogger(stderr, h.logLevel, h.logLevelSet)
}

func newLogger(stderr io.Writer, filterText string, fromFlag bool) (*slog.Logger, error) {
	filter, err := diaglog.ParseOption(filterText)
	if err != nil {
		if fromFlag {
			return nil, fmt.Errorf("invalid --log-level %q: %v", filterText, err)
		}
		return nil, fmt.Errorf("invalid $KUMOPOLICY_LOG %q: %v", filterText, err)
	}
	return slog.New(diaglog.NewHandler(newLogHandler(stderr, diaglog.LevelTrace), filter)), nil
}

// context is the context of a command's dispatches. It has no deadline:
// --timeout is applied by the runtime to each handler and chunk on its own
// (see kumopolicy.Config.Timeout), so time the command spends before an event,
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
	var le *kumopolicy.LuaError
	var te *kumopolicy.TimeoutError
	switch {
	case errors.As(err, &le) && le.Traceback != "":
		fmt.Fprintln(stderr, le.Traceback)
	case errors.As(err, &te) && te.Traceback != "":
		fmt.Fprintln(stderr, te.Traceback)
	}
}

func version() string {
	v := kumopolicy.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

// selectPolicy fills cfg's policy: the explicit file when given (it must
// exist), else KumoMTA's installed policy, else the embedded default, in
// which case note says so.
func selectPolicy(cfg *kumopolicy.Config, explicit string) (note string, err error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", err
		}
		cfg.Policy = explicit
		return "", nil
	}
	installed := cfg.InstalledPolicy()
	if _, err := os.Stat(installed); err == nil {
		cfg.Policy = installed
		return "", nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	cfg.Policy = kumopolicy.EmbeddedPolicyName
	cfg.PolicySource = kumopolicy.DefaultPolicy()
	return installed + " not found; using the embedded default policy", nil
}

// checkDomainArg rejects a DOMAIN argument that is not a domain name or a
// domain literal ([192.0.2.1], [IPv6:2001:db8::1]) before anything is
// looked up.
func checkDomainArg(domain string) error {
	if strings.TrimSpace(domain) == "" {
		return errors.New("DOMAIN is empty")
	}
	if strings.HasPrefix(domain, "[") {
		if err := dns.CheckDomain(domain); err != nil {
			return fmt.Errorf("invalid DOMAIN %q: %v", domain, err)
		}
		return nil
	}
	for _, r := range domain {
		if r < 0x80 && !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return fmt.Errorf("invalid DOMAIN %q: %q cannot appear in a domain name", domain, r)
		}
	}
	if strings.Trim(domain, ".") == "" {
		return fmt.Errorf("invalid DOMAIN %q: the root is not a mail domain", domain)
	}
	if err := dns.CheckDomain(domain); err != nil {
		return fmt.Errorf("invalid DOMAIN %q: %v", domain, err)
	}
	return nil
}
