package daemon_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
	"github.com/kumopolicy/kumopolicy/modules/tsa/store"
)

// persistPolicy writes a policy in dir whose one rule suspends and
// overrides on "421 persist-me", with the db path from $TSA_PERSIST_DB.
func persistPolicy(t *testing.T, dir string) string {
	t.Helper()
	writeFile(t, dir, "rules.toml", `[["default".automation]]
regex = "421 persist-me"
action = ["Suspend", {SetConfig={name="max_connection_rate", value="2/m"}}]
duration = "2 hours"
`)
	return writeFile(t, dir, "policy.lua", `local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_init', function()
  tsa.start_http_listener { listen = '127.0.0.1:0' }
  tsa.configure_tsa_db_path(os.getenv 'TSA_PERSIST_DB')
end)
kumo.on('tsa_load_shaping_data', function()
  return kumo.shaping.load { '`+filepath.Join(dir, "rules.toml")+`' }
end)
`)
}

// restartOnce posts a matching record, waits for its suspension, shuts
// the daemon down and starts a new one on the same db path; it returns
// the second daemon's suspended.json and shaping.toml, read at once.
func restartOnce(t *testing.T, db string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	policy := persistPolicy(t, dir)
	t.Setenv("TSA_PERSIST_DB", db)
	f := start(t, policy, daemon.Options{})
	code, body, _ := do(t, http.MethodPost, f.base+"/publish_log_v1", "application/json",
		record("TransientFailure", "421 persist-me now", 421, time.Now()))
	if code != http.StatusOK {
		t.Fatalf("publish: %d %q", code, body)
	}
	if s := poll(t, f.base+daemon.SuspendedPath, func(b string) bool { return strings.Contains(b, "site_name") }); !strings.Contains(s, "421 persist-me") {
		t.Fatalf("no suspension before the restart: %s\n%s", s, f.logs)
	}
	if err := f.d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := start(t, policy, daemon.Options{})
	return get(t, g.base+daemon.SuspendedPath), get(t, g.base+daemon.ShapingPath)
}

// TestStateSurvivesRestart: the suspension and the override a record
// made are served by the next daemon on the same db path.
func TestStateSurvivesRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tsa.db")
	susp, toml := restartOnce(t, db)
	if !strings.Contains(susp, `"site_name":"source2->example.com@smtp_client"`) || !strings.Contains(susp, "automation rule: 421 persist-me") {
		t.Errorf("suspended.json after restart: %s", susp)
	}
	if !strings.Contains(toml, `max_connection_rate = "2/m"`) {
		t.Errorf("shaping.toml after restart:\n%s", toml)
	}
	if _, err := os.Stat(filepath.Join(db, store.FileName)); err != nil {
		t.Errorf("state database: %v", err)
	}
}

// TestMemoryDBPathKeepsNothing: with ":memory:" the next daemon starts
// empty and nothing is written to the working directory.
func TestMemoryDBPathKeepsNothing(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	susp, toml := restartOnce(t, store.Memory)
	if strings.Contains(susp, "site_name") || strings.Contains(toml, "max_connection_rate") {
		t.Errorf("state kept with %s:\n%s\n%s", store.Memory, susp, toml)
	}
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Errorf("files written with %s: %v", store.Memory, ents)
	}
}

// TestDBPathRegularFile: KumoMTA's default db path is a sqlite file; a
// regular file there is a startup error that says so.
func TestDBPathRegularFile(t *testing.T) {
	dir := t.TempDir()
	policy := persistPolicy(t, dir)
	db := writeFile(t, dir, "tsa.db", "SQLite format 3\x00")
	t.Setenv("TSA_PERSIST_DB", db)
	if err := startErr(t, policy); err == nil || !strings.Contains(err.Error(), "db path "+db+" is a regular file") || !strings.Contains(err.Error(), "sqlite") {
		t.Errorf("Start: %v", err)
	}
	if b, _ := os.ReadFile(db); string(b) != "SQLite format 3\x00" {
		t.Errorf("the file was changed: %q", b)
	}
}

// startErr runs policy and returns Start's error (the daemon is shut
// down).
func startErr(t *testing.T, policy string) error {
	t.Helper()
	empty := t.TempDir()
	host, err := kumopolicy.New(kumopolicy.Config{Policy: policy, ShareDir: empty, EtcDir: empty})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	d, err := daemon.New(host.Runtime, daemon.Options{Logger: slog.New(slog.NewTextHandler(&logBuf{}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	return d.Start(context.Background())
}
