package kumopolicy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
)

// automationRules: Suspend and override max_message_rate on "451 go away".
const automationRules = `[["default".automation]]
regex = "451 go away"
action = ["Suspend", {SetConfig={name="max_message_rate", value="3/m"}}]
duration = "1 hour"
`

// startTSADaemon runs a TSA daemon in-process on loopback with rules; it
// returns its base URL.
func startTSADaemon(t *testing.T, rules string) string {
	t.Helper()
	dir := t.TempDir()
	policy := filepath.Join(dir, "tsa_init.lua")
	if err := os.WriteFile(policy, []byte(fmt.Sprintf(`local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_init', function() tsa.start_http_listener { listen = '127.0.0.1:0' } end)
kumo.on('tsa_load_shaping_data', function() return kumo.shaping.load { %q } end)
`, rules)), 0o644); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	host, err := kumopolicy.New(kumopolicy.Config{Policy: policy, ShareDir: dir, EtcDir: dir, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	d, err := daemon.New(host.Runtime, daemon.Options{Logger: logger, DBPath: filepath.Join(dir, "tsa.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return "http://" + d.Addrs()[0]
}

// automationPolicy uses our policy-extras.shaping with a daemon: %q are
// the rules file and the daemon's URL (twice).
const automationPolicy = `
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation {
  no_default_files = true,
  extra_files = { %q },
  publish = { %q },
  subscribe = { %q },
  cache_ttl = '50ms',
  config_monitor_interval = '50ms',
  subscriber_retry_delay = '100ms',
}
kumo.on('init', function()
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  shaper.setup_publish()
end)
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`

func automationRecord(content string, code int) string {
	ts := time.Now().Unix()
	return fmt.Sprintf(`{"type":"TransientFailure","id":"1d98076abbbc11ed940250ebf67f93bd","sender":"sender@example.com",`+
		`"recipient":"recip@example.com","queue":"example.com","site":"source2->example.com@smtp_client","size":1024,`+
		`"response":{"code":%d,"enhanced_code":null,"content":%q,"command":null},`+
		`"timestamp":%d,"created":%d,"num_attempts":1,"bounce_classification":"Uncategorized",`+
		`"egress_source":"source2","meta":{},"headers":{},"nodeid":"557f3ad4-2c8c-11ee-976e-782d1c8d2d5d"}`,
		code, content, ts, ts)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeAutomationWithOurHelper: with our shaping helper, a log record
// posted to the host is published to the daemon, the daemon's suspension
// reaches the host's admin registry through the subscriber, and the
// daemon's override is picked up by the config monitor (epoch bump, then
// the resolved egress path shows it). A record no rule matches is not
// published.
func TestServeAutomationWithOurHelper(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "rules.toml")
	if err := os.WriteFile(rules, []byte(automationRules), 0o644); err != nil {
		t.Fatal(err)
	}
	tsa := startTSADaemon(t, rules)

	dns := dnstest.New(t)
	dns.MustAddRR("example.com. 300 IN MX 10 mx.example.com.")
	h, err := kumopolicy.New(kumopolicy.Config{Policy: "automation.lua", PolicySource: []byte(fmt.Sprintf(automationPolicy, rules, tsa, tsa)),
		SystemRoots: []string{}, ShareDir: dir, EtcDir: dir, Resolver: []string{dns.Addr}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- h.Serve(ctx, kumopolicy.ServeOptions{OnListen: func(proto, addr string) { addrs <- proto + "://" + addr }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	var base string
	select {
	case base = <-addrs:
	case err := <-done:
		t.Fatalf("Serve returned before listening: %v", err)
	}
	// The monitor's first run bumps once.
	waitUntil(t, "the monitor's first bump", func() bool { return h.Epoch() >= 1 })
	first := h.Epoch()

	// Not matched by any rule: filtered out before publishing.
	if code, body := post(t, base+"/api/log-record/v1", automationRecord("mailbox full", 452)); code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	if code, body := post(t, base+"/api/log-record/v1", automationRecord("go away now", 451)); code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	hook := tsa + ".tsa.kumomta"
	waitUntil(t, "the suspension in the admin registry", func() bool {
		es, _ := h.Services().Admin.ReadyQSuspensions()
		return len(es) == 1
	})
	es, _ := h.Services().Admin.ReadyQSuspensions()
	if es[0].Name != "source2->example.com@smtp_client" || !strings.HasPrefix(es[0].Reason, "automation rule: 451 go away (rule_hash=") {
		t.Fatalf("suspension %+v", es[0])
	}
	st := h.Services().LogHooks.Stats()
	if hs := st.Hooks[hook]; hs.Received != 2 || hs.Declined != 1 || hs.Enqueued != 1 {
		t.Errorf("hook stats %+v", hs)
	}
	if qs := st.Queues[hook]; qs.Delivered != 1 {
		t.Errorf("queue stats %+v", qs)
	}

	// The override: the config monitor sees the daemon's data change and
	// bumps the epoch; the next resolve has the override.
	waitUntil(t, "the override's epoch bump", func() bool { return h.Epoch() > first })
	waitUntil(t, "the override in the resolved path", func() bool {
		res, err := h.Resolve(context.Background(), "example.com", "source2", "")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(fmt.Sprint(res.Serialized), "3/m")
	})
}
