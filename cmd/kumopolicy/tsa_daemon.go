package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
)

// tsaShutdownGrace bounds the drain of the ingest queue at shutdown.
const tsaShutdownGrace = 60 * time.Second

// tsaSignals end the daemon, as they end KumoMTA's tsa-daemon.
var tsaSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

func runTSADaemon(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tsa-daemon", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var hf hostFlags
	hf.register(fs)
	policy := fs.String("policy", "", "the TSA policy `FILE` (default: the first that exists of /opt/kumomta/etc/tsa/init.lua and\n/opt/kumomta/etc/policy/tsa_init.lua, moved by --etc-dir, else the embedded default policy)")
	dbPath := fs.String("db-path", daemon.DefaultDBPath, "the state database `DIR` unless the policy calls tsa.configure_tsa_db_path\n(\":memory:\" keeps the state in memory only)")
	dumpSpec := fs.Bool("dump-openapi-spec", false, "print the OpenAPI document of the HTTP API to stdout and exit")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: kumopolicy tsa-daemon [flags]

Runs the Traffic Shaping Automation daemon, a drop-in for KumoMTA's
tsa-daemon: the policy (tsa_init.lua) can require 'tsa', whose
tsa.start_http_listener{...} starts the HTTP API listeners and
tsa.configure_tsa_db_path(path) names the state database directory
(":memory:": no persistence). At startup the daemon fires
tsa_load_shaping_data (the automation rules; again every 30s, an error
keeping the previous rules), then tsa_init, restores the state, and logs
"http listener on ADDR" for each listener and "initialization complete".
Suspensions, bounces and overrides are on disk before any response or
websocket shows them; threshold counters are written every second.
SIGINT, SIGTERM or SIGHUP stop the listeners, process every record already
accepted, save the state, and exit 0.

GET /api-docs/openapi.json serves the OpenAPI document of the HTTP API
to anyone (--dump-openapi-spec prints it); GET /metrics serves
Prometheus metrics to trusted hosts;
GET /api/admin/tsa/v1/entries lists the active entries with the rule that
made each, and POST /api/admin/tsa/v1/cancel {"key": ...} cancels one
(trusted hosts only; see the README). Response bodies of 32 bytes or
more are gzip- or deflate-compressed when the client's Accept-Encoding
allows.

Flags:`)
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "kumopolicy tsa-daemon: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *dumpSpec {
		doc, err := daemon.OpenAPIDocument(version())
		if err != nil {
			fmt.Fprintln(stderr, "kumopolicy tsa-daemon:", err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "%s\n", doc)
		return exitOK
	}
	logger, err := hf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy tsa-daemon:", err)
		return exitUsage
	}
	cfg := kumopolicy.Config{SearchRoots: hf.searchRoots, ShareDir: hf.shareDir, EtcDir: hf.etcDir, Logger: logger, Resolver: hf.resolvers, Timeout: hf.timeout}
	if err := selectTSAPolicy(&cfg, *policy); err != nil {
		fmt.Fprintln(stderr, "kumopolicy tsa-daemon:", err)
		return exitFailure
	}
	logger.Info("using policy " + cfg.Policy)
	host, err := kumopolicy.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy tsa-daemon:", err)
		return exitFailure
	}
	defer host.Close()
	d, err := daemon.New(host.Runtime, daemon.Options{Logger: logger, Version: version(), MX: host.Services().Shaping.DNS, DBPath: *dbPath, Paths: host.Services().Paths})
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy tsa-daemon:", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(context.Background(), tsaSignals...)
	defer stop()
	startErr := d.Start(ctx)
	if startErr == nil {
		<-ctx.Done()
	}
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), tsaShutdownGrace)
	defer cancel()
	if err := d.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "kumopolicy tsa-daemon: shutdown:", err)
		return exitFailure
	}
	if startErr != nil {
		reportError(stderr, startErr)
		return exitFailure
	}
	return exitOK
}

// selectTSAPolicy fills cfg's policy: the explicit file when given (it
// must exist), else the first of kumopolicy.TSAPolicyPaths that exists
// (moved by --etc-dir), else the embedded default TSA policy.
func selectTSAPolicy(cfg *kumopolicy.Config, explicit string) error {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return err
		}
		cfg.Policy = explicit
		return nil
	}
	for _, p := range kumopolicy.TSAPolicyPaths {
		path := cfg.MapInstallPath(p)
		if _, err := os.Stat(path); err == nil {
			cfg.Policy = path
			return nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	cfg.Policy = kumopolicy.EmbeddedTSAPolicyName
	cfg.PolicySource = kumopolicy.DefaultTSAPolicy()
	return nil
}
