package daemon_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

const metricsShaping = `
["default"]
[["default".automation]]
regex = "you said 450-go-away"
action = ["Suspend", {SetConfig={name="max_message_rate", value="3/m"}}]
duration = "1 hour"

[["default".automation]]
regex = ["bounce-me", "bounce-\\d+"]
action = "Bounce"
duration = "1 hour"
`

// TestMetrics scrapes GET /metrics after publishing records: the ingest
// counters, the queue and subscriber gauges and the per-rule series.
func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "shaping.toml", metricsShaping)
	policy := writeFile(t, dir, "tsa_init.lua", fmt.Sprintf(`
local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_init', function()
  tsa.start_http_listener { listen = '127.0.0.1:0' }
  tsa.start_http_listener { listen = '127.0.0.1:0', trusted_hosts = { '192.0.2.0/24' } }
end)
kumo.on('tsa_load_shaping_data', function()
  return kumo.shaping.load { %q }
end)
`, dir+"/shaping.toml"))
	f := start(t, policy, daemon.Options{Queue: httpapi.QueueConfig{Capacity: 64, BatchWait: time.Millisecond}})
	metrics := f.base + daemon.MetricsPath

	// Trusted hosts only, as KumoMTA's /metrics.
	untrusted := "http://" + f.d.Addrs()[1] + daemon.MetricsPath
	if code, body, _ := do(t, http.MethodGet, untrusted, "", nil); code != 401 || !strings.HasPrefix(body, "<Unauthenticated>@ ip=127.0.0.1 not permitted GET on http_listener/") {
		t.Errorf("untrusted /metrics: %d %q", code, body)
	}

	ws := dial(t, f.base, daemon.SubscribeEventPath)
	now := time.Now()
	for _, c := range []struct {
		ctype, body string
		code        int
	}{
		{"application/json", string(record("TransientFailure", "you said 450-go-away", 450, now)), 200},
		{"application/json", string(record("TransientFailure", "bounce-me please", 450, now)), 200},
		{"application/json", string(record("TransientFailure", "all fine", 450, now)), 200},
		{"text/plain", "{}", 415},
		{"application/json", `{"type":`, 400},
		{"application/json", `{"type":`, 400},
	} {
		if code, body, _ := do(t, http.MethodPost, f.base+"/publish_log_v1", c.ctype, []byte(c.body)); code != c.code {
			t.Fatalf("publish %s: %d %q, want %d", c.body, code, body, c.code)
		}
	}
	readFrame(t, ws) // the suspension's live event

	body := poll(t, metrics, func(b string) bool {
		return strings.Contains(b, "\ntsa_ingest_batch_size_sum 3\n") && strings.Contains(b, "\ntsa_ingest_queue_depth 0\n")
	})
	hashes := map[string]string{}
	for _, s := range f.d.Engine().RuleStats(time.Now()) {
		hashes[s.Regex[0]] = s.Hash
	}
	susp, bounce := hashes["you said 450-go-away"], hashes["bounce-me"]
	if len(susp) != 64 || len(bounce) != 64 {
		t.Fatalf("rule hashes %v", hashes)
	}
	sl := `regex="you said 450-go-away",rule_hash="` + susp + `"`
	bl := `regex="(bounce-me,bounce-\\d+)",rule_hash="` + bounce + `"`
	for _, want := range []string{
		"tsa_records_received_total 3",
		`tsa_records_rejected_total{reason="content_type"} 1`,
		`tsa_records_rejected_total{reason="json_syntax"} 2`,
		`tsa_records_rejected_total{reason="client_gone"} 0`,
		"tsa_ingest_queue_depth 0",
		"tsa_ingest_queue_capacity 64",
		"tsa_ingest_batch_size_sum 3",
		"tsa_persist_errors_total 0",
		"tsa_subscribers 1",
		"tsa_rule_matches_total{" + sl + "} 1",
		`tsa_rule_actions_total{action="Suspend",` + sl + "} 1",
		`tsa_rule_actions_total{action="SetConfig",` + sl + "} 1",
		`tsa_rule_active_suspensions{queue="ready",` + sl + "} 1",
		`tsa_rule_active_suspensions{queue="scheduled",` + sl + "} 0",
		"tsa_rule_active_overrides{" + sl + "} 1",
		"tsa_rule_active_bounces{" + sl + "} 0",
		"tsa_rule_matches_total{" + bl + "} 1",
		`tsa_rule_actions_total{action="Bounce",` + bl + "} 1",
		"tsa_rule_active_bounces{" + bl + "} 1",
		`tsa_rule_active_suspensions{queue="ready",` + bl + "} 0",
		"go_goroutines ",
	} {
		if !strings.Contains(body, "\n"+want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}
