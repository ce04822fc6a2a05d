package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// levelFlag is a CheckLevel flag value, parsed case-insensitively.
type levelFlag struct{ l *shaping.CheckLevel }

func (f levelFlag) String() string {
	if f.l == nil {
		return ""
	}
	return f.l.String()
}

func (f levelFlag) Set(s string) error {
	l, err := shaping.ParseCheckLevel(s, true)
	if err != nil {
		return err
	}
	*f.l = l
	return nil
}

func runValidateShaping(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate-shaping", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := shaping.ValidateShapingOptions()
	fs.Var(levelFlag{&opts.ProviderOverlap}, "provider-overlap", "level for mx_rollup domains also matched by a provider: ignore, warn or error")
	fs.Var(levelFlag{&opts.DNSFail}, "dns-fail", "level for MX lookup failures of mx_rollup domains")
	fs.Var(levelFlag{&opts.NullMX}, "null-mx", "level for mx_rollup domains with a NULL MX")
	fs.Var(levelFlag{&opts.AliasedSite}, "aliased-site", "level for several domain blocks that share one site")
	fs.Var(levelFlag{&opts.RemoteLoad}, "remote-load", "level for http(s) files that cannot be fetched")
	fs.Var(levelFlag{&opts.LocalLoad}, "local-load", "level for local files that cannot be read")
	lenientJSON := shaping.Error
	fs.Var(levelFlag{&lenientJSON}, "lenient-json", "level for .json files with comments or trailing commas, which kumopolicy reads but kumod refuses to load (default error)")
	fs.BoolVar(&opts.SkipRemote, "skip-remote", false, "do not fetch http(s) files (each is reported as a warning)")
	var resolvers resolverList
	var install kumopolicy.Config
	fs.StringVar(&install.ShareDir, "share-dir", installDirs.share, "`DIR` that stands in for /opt/kumomta/share: a FILE named under /opt/kumomta/share is read from DIR")
	fs.StringVar(&install.EtcDir, "etc-dir", installDirs.etc, "`DIR` that stands in for /opt/kumomta/etc: a FILE named under /opt/kumomta/etc is read from DIR")
	fs.Var(&resolvers, "resolver", "DNS server `IP:PORT` for MX lookups instead of /etc/resolv.conf; repeatable")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: kumopolicy validate-shaping [flags] FILE...

Loads and merges shaping files (TOML, JSON, or http(s) URLs) exactly as
kumo.shaping.load does, and reports problems: ERROR: and WARNING: lines on
stderr, each followed by the file and block it concerns when known, then
"INFO: approx memory used = ..." (the heap the loaded data keeps) on
stdout and "OK" on stderr when there were no errors. Beyond KumoMTA's
checks it warns about provider match entries that can never match, and
reports JSON files that kumod would refuse to load (comments, trailing
commas) as errors: kumopolicy reads them, kumod does not.
--lenient-json=warn or =ignore lowers that.

Exit codes: 0 no errors (warnings allowed), 1 errors or a file that cannot
be parsed, 2 usage error. Flags may come before or after the files.

Flags:`)
		fs.PrintDefaults()
	}
	files, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "kumopolicy validate-shaping: at least one FILE is required")
		fs.Usage()
		return exitUsage
	}

	// No stand-ins: validate-shaping checks the operator's real files, so
	// a missing file is an error even where policies get kumopolicy's
	// embedded default data in its place.
	install.Resolver = resolvers
	env, resolver, err := kumopolicy.CheckShapingEnv(install)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy validate-shaping:", err)
		return exitUsage
	}

	// The memory figure is what the loaded data keeps: the MX results the
	// load cached are dropped before measuring (a running host shares that
	// cache with all traffic, and bounds it on its own).
	var s *shaping.Shaping
	used := heapRetainedBy(func() {
		s, err = shaping.Load(context.Background(), files, opts, env)
		resolver.PurgeCaches()
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		var he *shaping.HardError
		if errors.As(err, &he) && he.Path != "" && !strings.Contains(err.Error(), he.Path) {
			fmt.Fprintf(stderr, "  in %s\n", he.Path)
		}
		return exitFailure
	}
	// Errors first, then warnings. JSON that kumod would refuse is an
	// error unless --lenient-json lowers it.
	diags := s.Diagnostics()
	var errs, warns []shaping.Diagnostic
	for _, d := range diags {
		if d.Level == shaping.Error {
			errs = append(errs, d)
		}
	}
	for _, d := range s.CompatWarnings() {
		switch lenientJSON {
		case shaping.Error:
			errs = append(errs, d)
		case shaping.Warn:
			warns = append(warns, d)
		}
	}
	for _, d := range diags {
		if d.Level == shaping.Warn {
			warns = append(warns, d)
		}
	}
	warns = append(warns, s.Lint()...)
	for _, d := range errs {
		printDiag(stderr, "ERROR", d, install)
	}
	for _, d := range warns {
		printDiag(stderr, "WARNING", d, install)
	}
	nErrors := len(errs)
	fmt.Fprintf(stdout, "INFO: approx memory used = %s\n", humanBytes(used))
	if nErrors > 0 {
		return exitFailure
	}
	fmt.Fprintln(stderr, "OK")
	return exitOK
}

// heapRetainedBy runs fn and returns the heap it leaves live: the live heap
// after a forced collection, minus the live heap before one. What fn stores
// in variables that outlive it counts; the garbage it makes does not.
func heapRetainedBy(fn func()) int64 {
	before := liveHeap()
	fn()
	return max(liveHeap()-before, 0)
}

// liveHeap collects and returns the heap in use. It collects twice: objects
// that sync.Pools drop survive one collection as their victim cache.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// printDiag prints one diagnostic with its file and block; install says
// where KumoMTA installation paths were read from (--share-dir, --etc-dir).
func printDiag(w io.Writer, label string, d shaping.Diagnostic, install kumopolicy.Config) {
	fmt.Fprintf(w, "%s: %s\n", label, d.Message)
	switch {
	case d.File != "" && d.Block != "":
		fmt.Fprintf(w, "  in %s [%s]\n", d.File, d.Block)
	case d.File != "":
		fmt.Fprintf(w, "  in %s\n", d.File)
	}
	if name, ok := install.StandInFor(d.File); ok && d.Block == "" {
		if _, err := os.Stat(d.File); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(w, "  note: policies that load this file get %s in its place; validate-shaping checks only real files\n", name)
		}
	}
}

// parseInterspersed parses flags that may appear before, between or after
// the positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, int, bool) {
	var positional []string
	for {
		if ok, code := parseFlags(fs, args); !ok {
			return nil, code, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, 0, true
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), 0, true
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value := float64(n)
	for _, suffix := range []string{"KiB", "MiB", "GiB", "TiB"} {
		value /= unit
		if value < unit {
			return fmt.Sprintf("%.1f %s", value, suffix)
		}
	}
	return fmt.Sprintf("%.1f PiB", value/unit)
}
