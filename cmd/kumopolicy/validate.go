package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
)

func runValidate(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("validate", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var hf hostFlags
	hf.register(flags)
	policy := flags.String("policy", "", "policy file to validate (default "+kumopolicy.DefaultPolicyPath+" if it exists, else the embedded default policy)")
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), `Usage: kumopolicy validate [flags]

Checks a policy the way kumod --validate does: the policy is loaded with
_VALIDATING_CONFIG = true, then the pre_init, init and validate_config
events fire. Listeners, spools and spawned tasks are not started. Fails
(exit 1) if the policy raises an error or a validate_config handler calls
kumo.validation_failed(). Warnings printed by handlers do not fail it.

Flags:`)
		flags.PrintDefaults()
	}
	if ok, code := parseFlags(flags, args); !ok {
		return code
	}
	if flags.NArg() > 0 {
		fmt.Fprintf(stderr, "kumopolicy validate: unexpected argument %q (use --policy FILE)\n", flags.Arg(0))
		return exitUsage
	}
	logger, err := hf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy validate:", err)
		return exitUsage
	}

	cfg := kumopolicy.Config{Policy: *policy, SearchRoots: hf.searchRoots, ShareDir: hf.shareDir, EtcDir: hf.etcDir, Logger: logger, Validating: true, Resolver: hf.resolvers, Timeout: hf.timeout}
	if note, err := selectPolicy(&cfg, *policy); err != nil {
		fmt.Fprintf(stderr, "kumopolicy validate: %v\n", err)
		return exitFailure
	} else if note != "" {
		fmt.Fprintf(stderr, "kumopolicy validate: %s not found; validating the embedded default policy\n", cfg.InstalledPolicy())
	}

	host, err := kumopolicy.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy validate:", err)
		return exitFailure
	}
	defer host.Close()
	ctx, cancel := hf.context()
	defer cancel()

	v, err := host.Validate(ctx)
	if err != nil {
		reportError(stderr, err)
		return exitFailure
	}
	if v.Failed {
		fmt.Fprintf(stderr, "kumopolicy: validation failed: a validate_config handler of %s called kumo.validation_failed()\n", cfg.Policy)
		return exitFailure
	}
	counts := make([]string, len(v.Handlers))
	for i, n := range v.Handlers {
		counts[i] = fmt.Sprintf("%s %d", kumopolicy.ValidationEvents[i], n)
	}
	fmt.Fprintf(stdout, "OK: %s (handlers: %s)\n", cfg.Policy, strings.Join(counts, ", "))
	printConfigured(stdout, v.Configured)
	return exitOK
}

// printConfigured lists the kumod setup calls the policy made, one per
// line in call order, with the caller's position and, in brackets, what
// kumod would do with it (kumopolicy only records them).
func printConfigured(w io.Writer, recs []kumod.Record) {
	if len(recs) == 0 {
		return
	}
	fmt.Fprintln(w, "Configured (recorded only; kumopolicy binds, opens, creates and connects nothing):")
	for _, r := range recs {
		line := "  " + r.Summary() + " (" + shortCaller(r.Caller) + ")"
		if r.Disposition != kumod.Recorded {
			line += " [kumod: " + string(r.Disposition) + "]"
		}
		fmt.Fprintln(w, line)
	}
}

// shortCaller turns "/path/to/init.lua:12" into "init.lua:12".
func shortCaller(pos string) string {
	if i := strings.LastIndexByte(pos, ':'); i > 0 {
		return filepath.Base(pos[:i]) + pos[i:]
	}
	return pos
}
