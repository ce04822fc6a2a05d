package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/kumopolicy/kumopolicy"
)

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var hf hostFlags
	hf.register(fs)
	policy := fs.String("policy", "", "the policy `FILE` (default: /opt/kumomta/etc/policy/init.lua, moved by --etc-dir,\nelse the embedded default policy)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: kumopolicy serve [flags]

Runs the policy as a long-running service: fires pre_init and init, then
serves the admin HTTP API on every kumo.start_http_listener{...} the
policy made (other kumod-only init calls are recorded, not performed),
logging "http listener on ADDR" for each. Tasks started with
kumo.spawn_task run until shutdown. SIGINT or SIGTERM stop the listeners,
cancel the tasks and exit 0.

Admin API (trusted hosts only, except check-liveness; see the README):
  GET  /api/admin/resolve-egress-path/v1?domain=D[&source=S][&site=][&explain=true]
  GET|POST|DELETE /api/admin/suspend-ready-q/v1, /api/admin/suspend/v1,
                  /api/admin/bounce/v1
  POST /api/admin/bump-config-epoch      GET /api/check-liveness/v1
  GET  /metrics                          POST /api/log-record/v1

Flags:`)
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kumopolicy serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	logger, err := hf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy serve:", err)
		return exitUsage
	}
	cfg := kumopolicy.Config{SearchRoots: hf.searchRoots, ShareDir: hf.shareDir, EtcDir: hf.etcDir, Logger: logger, Resolver: hf.resolvers, Timeout: hf.timeout}
	note, err := selectPolicy(&cfg, *policy)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy serve:", err)
		return exitFailure
	}
	if note != "" {
		logger.Info(note)
	}
	logger.Info("using policy " + cfg.Policy)
	host, err := kumopolicy.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy serve:", err)
		return exitFailure
	}
	defer host.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := host.Serve(ctx, kumopolicy.ServeOptions{}); err != nil {
		reportError(stderr, err)
		return exitFailure
	}
	return exitOK
}
