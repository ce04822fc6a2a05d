package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
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

	rt := kumopolicy.New(cfg)
	defer rt.Close()
	ctx, cancel := hf.context()
	defer cancel()

	var counts [3]int
	events := []string{"pre_init", "init", "validate_config"}
	err = rt.Call(ctx, func(s *luart.State) error {
		for i, ev := range events {
			counts[i] = s.HandlerCount(ev)
			if _, _, err := s.Fire(ctx, ev); err != nil {
				return fmt.Errorf("%s: %w", ev, err)
			}
		}
		return nil
	})
	if err != nil {
		reportError(stderr, err)
		return exitFailure
	}
	if rt.ValidationFailed() {
		fmt.Fprintf(stderr, "kumopolicy: validation failed: a validate_config handler of %s called kumo.validation_failed()\n", cfg.Policy)
		return exitFailure
	}
	fmt.Fprintf(stdout, "OK: %s (handlers: pre_init %d, init %d, validate_config %d)\n", cfg.Policy, counts[0], counts[1], counts[2])
	printConfigured(stdout, kumo.KumodRecorder(rt).Records())
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
