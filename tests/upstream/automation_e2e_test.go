package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
)

// The automation loop end to end: `kumopolicy tsa-daemon` running the corpus's
// unmodified integration tsa_init.lua, and `kumopolicy serve` running a
// policy that wires itself to it with setup_with_automation, once with
// KumoMTA's own policy-extras/shaping.lua (from the corpus) and once with
// kumopolicy's. Everything is real processes of the built binary on
// loopback; the daemon sits behind a forwarder with a fixed port so the
// policy's publish/subscribe URL survives the daemon's restart on a new
// port.

// e2ePolicy is the host's policy. E2E_TSA is the forwarder's URL,
// E2E_RULES the daemon's shaping file (so the host's pre-filter knows the
// same rules, as a deployment's extra_files would), E2E_EXTRA_OPTIONS a
// JSON object merged into the options (the variant's extras).
const e2ePolicy = `
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'

local options = {
  publish = { os.getenv 'E2E_TSA' },
  subscribe = { os.getenv 'E2E_TSA' },
  extra_files = { os.getenv 'E2E_RULES' },
  cache_ttl = '1s',
  tsa_queue_config = { retry_interval = '1s', max_retry_interval = '2s' },
}
for k, v in pairs(kumo.json_parse(os.getenv 'E2E_EXTRA_OPTIONS')) do
  options[k] = v
end
local shaper = shaping:setup_with_automation(options)

kumo.on('init', function()
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  shaper.setup_publish()
  kumo.log_info('e2e: policy-extras.shaping loaded from '
    .. debug.getinfo(shaping.setup_with_automation, 'S').source)
end)

kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`

// helperVariant is one shaping helper the flow runs with.
type helperVariant struct {
	name string
	// shareDir is --share-dir: where require 'policy-extras.shaping'
	// finds the helper (or not, for the embedded one).
	shareDir func(t testing.TB) string
	// fromCorpus: the helper must be loaded from the corpus.
	fromCorpus bool
	// extraOptions are merged into setup_with_automation's options.
	extraOptions string
}

func helperVariants() []helperVariant {
	return []helperVariant{
		{
			name:       "corpus-shaping.lua",
			shareDir:   func(t testing.TB) string { return filepath.Join(sharedref.Corpus(t), "assets") },
			fromCorpus: true,
			// KumoMTA's helper loops every 30 s (subscriber retry, config
			// monitor); it has no knobs for that.
			extraOptions: `{}`,
		},
		{
			name:     "our-shaping.lua",
			shareDir: func(t testing.TB) string { return t.TempDir() },
			// kumopolicy's extensions, so the test need not wait 30 s.
			extraOptions: `{"config_monitor_interval":"1s","subscriber_retry_delay":"1s"}`,
		},
	}
}

func TestAutomationEndToEnd(t *testing.T) {
	sharedref.Corpus(t)
	for _, v := range helperVariants() {
		t.Run(v.name, func(t *testing.T) {
			if v.fromCorpus {
				ran(t, "assets/policy-extras/shaping.lua + crates/integration-tests/tsa_init.lua (setup_with_automation end to end)")
			}
			runAutomationFlow(t, v)
		})
	}
}

// e2eEnv is one run's processes and fixtures.
type e2eEnv struct {
	t         testing.TB
	daemonDir string
	fwd       *forwarder
	daemon    *proc
	serve     *proc
	admin     string // serve's admin listener, http://ADDR
	hook      string // the publish hook's (and queue's) name
}

func (e *e2eEnv) startDaemon() {
	e.t.Helper()
	e.daemon = startProc(e.t, "tsa-daemon", e.daemonDir, []string{"KUMO_TSA_TEST_DIR=" + e.daemonDir},
		"tsa-daemon", "--policy", sharedref.CorpusFile(e.t, "crates/integration-tests/tsa_init.lua"))
	if e.daemon.Addr() == "" {
		e.t.Fatalf("tsa-daemon announced no listener:\n%s", e.daemon.Log())
	}
	e.fwd.Point(e.daemon.Addr())
}

// newE2E starts the daemon (behind the forwarder) and the host with
// variant v, checks where the helper came from, and skips (fails with
// CI=true) when v cannot run yet.
func newE2E(t testing.TB, v helperVariant) *e2eEnv {
	rules := sharedref.CorpusFile(t, "crates/integration-tests/shaping.toml")
	e := &e2eEnv{t: t, daemonDir: t.TempDir(), fwd: newForwarder(t)}
	data, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.daemonDir, "shaping.toml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.startDaemon()

	// The host's DNS: the test domains' MX hosts, nothing else.
	ns := dnstest.New(t)
	for _, d := range e2eDomains {
		ns.AddMX(d, 10, "mx."+d, 300)
		ns.AddA("mx."+d, "192.0.2.10", 300)
	}
	hostDir := t.TempDir()
	policy := filepath.Join(hostDir, "init.lua")
	if err := os.WriteFile(policy, []byte(e2ePolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	tsaURL := "http://" + e.fwd.Addr()
	e.hook = tsaURL + ".tsa.kumomta"
	e.serve = startProc(t, "serve", hostDir,
		[]string{"E2E_TSA=" + tsaURL, "E2E_RULES=" + rules, "E2E_EXTRA_OPTIONS=" + v.extraOptions},
		"serve", "--policy", policy, "--share-dir", v.shareDir(t), "--resolver", ns.Addr)
	e.admin = "http://" + e.serve.Addr()
	if e.serve.Addr() == "" {
		t.Fatalf("serve announced no admin listener:\n%s", e.serve.Log())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve log:\n%s", e.serve.Log())
			t.Logf("tsa-daemon log (last incarnation):\n%s", e.daemon.Log())
		}
	})

	// Which helper runs.
	src := regexp.MustCompile(`e2e: policy-extras\.shaping loaded from (\S+)`).FindStringSubmatch(e.serve.Log())
	if src == nil {
		t.Fatalf("the policy did not log where policy-extras.shaping came from:\n%s", e.serve.Log())
	}
	corpusHelper := strings.HasPrefix(strings.TrimPrefix(src[1], "@"), filepath.Join(sharedref.Corpus(t), "assets"))
	if corpusHelper != v.fromCorpus {
		t.Fatalf("policy-extras.shaping came from %s; want the corpus's: %v", src[1], v.fromCorpus)
	}
	return e
}

func runAutomationFlow(t *testing.T, v helperVariant) {
	e := newE2E(t, v)

	// 1. A record the Suspend + SetConfig rule matches, posted to the host,
	// is published to the daemon.
	e.postToHost(e2eRecord("TransientFailure", e2eDomains[0], "you said 450-go-away"))
	e.waitDaemonReceived(1)

	// 2. The suspension reaches the host through the subscription.
	site := "mx." + e2eDomains[0]
	first := e.waitSuspension(site, "")
	t.Logf("suspension on the host: %+v", first)

	// 3. The SetConfig overrides reach resolve-egress-path.
	e.waitOverrides(e2eDomains[0], "e2e-src")

	// 4. Pre-filter and skipped types.
	e.postToHost(e2eRecord("TransientFailure", e2eDomains[1], "you said 450-please-wait"))
	e.postToHost(e2eRecord("Reception", e2eDomains[1], "you said 450-go-away"))
	marker := e2eRecord("TransientFailure", e2eDomains[2], "you said 450-go-away")
	e.postToHost(marker)
	e.waitSuspension("mx."+e2eDomains[2], "")
	if site := "mx." + e2eDomains[1]; len(e.suspensions(site)) != 0 {
		t.Errorf("%s was suspended: the Reception record was published", site)
	}
	// The daemon must have got exactly the two matching records. (A
	// wrongly published record still in flight here would show as a
	// suspension of its site at the end: the Reception record carries
	// a matching answer, and the daemon evaluates every type.)
	e.waitDaemonReceived(2)
	if n := e.daemonMetric(`tsa_records_received_total`); n != 2 {
		t.Errorf("the daemon received %v records, want 2 (the non-matching and the Reception record must not be published)", n)
	}
	// The host's side: of the four records, the Reception record was
	// skipped by the hook's per_record, the non-matching one declined
	// by should_enqueue_log_record's pre-filter, two were queued and
	// delivered.
	for _, m := range []struct {
		name, label string
		want        float64
	}{
		{"kumopolicy_log_hook_received_total", "hook", 4},
		{"kumopolicy_log_hook_skipped_total", "hook", 1},
		{"kumopolicy_log_hook_declined_total", "hook", 1},
		{"kumopolicy_log_hook_enqueued_total", "hook", 2},
		{"kumopolicy_log_queue_delivered_total", "queue", 2},
	} {
		if got := e.hostMetric(m.name, m.label); got != m.want {
			t.Errorf("serve's %s{%s=%q} = %v, want %v", m.name, m.label, e.hook, got, m.want)
		}
	}

	// 5. Restart the daemon on a new port, same db dir: the host
	// reconnects, re-applies the snapshot (a new entry id), no duplicate.
	if err := e.daemon.Stop(); err != nil {
		t.Fatalf("tsa-daemon did not stop cleanly: %v\n%s", err, e.daemon.Log())
	}
	e.fwd.Point("")
	downIDs := e.suspensionIDs(site)

	// 6. While the daemon is down, matching records posted to the host are
	// retried, and arrive once it is back.
	var downRecords []string
	before := e.fwd.PublishAttempts()
	for _, d := range e2eDomains[3:5] {
		e.postToHost(e2eRecord("TransientFailure", d, "you said 450-go-away"))
		downRecords = append(downRecords, d)
	}
	poll(t, 60*time.Second, "the host to retry publishing while the daemon is down", func() (bool, string) {
		n := e.fwd.PublishAttempts() - before
		return n > len(downRecords), fmt.Sprintf("%d publish attempts", n)
	})
	e.startDaemon()
	again := e.waitSuspension(site, strings.Join(downIDs, ","))
	if n := len(e.suspensions(site)); n != 1 {
		t.Errorf("after the daemon's restart the host lists %d suspensions for %s, want exactly 1: %+v", n, site, e.suspensions(site))
	}
	if ruleHash(again.Reason) != ruleHash(first.Reason) {
		t.Errorf("re-applied reason %q does not carry the same rule hash as %q", again.Reason, first.Reason)
	}
	for _, d := range downRecords {
		e.waitSuspension("mx."+d, "")
	}
	e.waitDaemonReceived(float64(len(downRecords)))
	// Nothing admitted was lost: every record queued was delivered,
	// after failed attempts while the daemon was down.
	poll(t, 30*time.Second, "serve's publish queue to drain", func() (bool, string) {
		q := e.hostMetric("kumopolicy_log_queue_queued", "queue")
		d := e.hostMetric("kumopolicy_log_queue_delivered_total", "queue")
		return q == 0 && d == float64(2+len(downRecords)), fmt.Sprintf("queued %v, delivered %v", q, d)
	})
	if n := e.hostMetric("kumopolicy_log_queue_transient_failures_total", "queue"); n < float64(len(downRecords)) {
		t.Errorf("serve's publish queue counted %v transient failures while the daemon was down, want at least %d", n, len(downRecords))
	}
	if site := "mx." + e2eDomains[1]; len(e.suspensions(site)) != 0 {
		t.Errorf("%s is suspended: the Reception record was published", site)
	}
}

// e2eDomains are the recipient domains the flow uses, one site each.
var e2eDomains = []string{"go-away.e2e.example", "other.e2e.example", "marker.e2e.example", "down1.e2e.example", "down2.e2e.example"}

// e2eRecord is a KumoMTA JSON log record of typ for a recipient at domain,
// from egress source e2e-src through the domain's MX site, with a 450
// answer of content.
func e2eRecord(typ, domain, content string) []byte {
	now := time.Now().Unix()
	rec := map[string]any{
		"type": typ, "id": fmt.Sprintf("e2e%x", time.Now().UnixNano()), "sender": "sender@example.com",
		"recipient": "user@" + domain, "queue": domain, "site": "e2e-src->mx." + domain + "@smtp_client",
		"size": 1024, "response": map[string]any{"code": 450, "enhanced_code": nil, "content": content, "command": nil},
		"peer_address": nil, "timestamp": now, "created": now, "num_attempts": 1,
		"bounce_classification": "Uncategorized", "egress_pool": nil, "egress_source": "e2e-src",
		"feedback_report": nil, "meta": map[string]any{}, "headers": map[string]any{},
		"delivery_protocol": "ESMTP", "reception_protocol": "ESMTP", "nodeid": "557f3ad4-2c8c-11ee-976e-782d1c8d2d5d",
	}
	b, err := json.Marshal(rec)
	if err != nil {
		panic(err)
	}
	return b
}

// postToHost posts rec to serve's /api/log-record/v1.
func (e *e2eEnv) postToHost(rec []byte) {
	e.t.Helper()
	code, body := httpDo(e.t, "POST", e.admin+"/api/log-record/v1", rec)
	if code != http.StatusOK {
		e.t.Fatalf("POST /api/log-record/v1: %d %s", code, body)
	}
}

// daemonMetric is the value of a series of the daemon's /metrics (0 when
// absent).
func (e *e2eEnv) daemonMetric(series string) float64 {
	e.t.Helper()
	code, body := httpDo(e.t, "GET", "http://"+e.daemon.Addr()+"/metrics", nil)
	if code != http.StatusOK {
		e.t.Fatalf("daemon /metrics: %d %s", code, body)
	}
	return metricValue(body, series)
}

func metricValue(text, series string) float64 {
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err == nil {
				return f
			}
		}
	}
	return 0
}

// waitDaemonReceived waits until the current daemon has taken n records
// and processed them.
func (e *e2eEnv) waitDaemonReceived(n float64) {
	e.t.Helper()
	poll(e.t, 60*time.Second, fmt.Sprintf("the daemon to receive %v records", n), func() (bool, string) {
		got := e.daemonMetric("tsa_records_received_total")
		depth := e.daemonMetric("tsa_ingest_queue_depth")
		return got >= n && depth == 0, fmt.Sprintf("received %v, queue depth %v", got, depth)
	})
}

// hostMetric is the value of a series of serve's /metrics for the
// publish hook (LABEL="<hook name>"; 0 when absent).
func (e *e2eEnv) hostMetric(name, label string) float64 {
	e.t.Helper()
	code, body := httpDo(e.t, "GET", e.admin+"/metrics", nil)
	if code != http.StatusOK {
		e.t.Fatalf("serve /metrics: %d %s", code, body)
	}
	return metricValue(body, fmt.Sprintf("%s{%s=%q}", name, label, e.hook))
}

type readyQEntry struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Reason  string `json:"reason"`
	Expires string `json:"expires"`
}

// ruleHashSuffix ends a suspension reason the helper applied: the action
// hash, which live events prefix with the site ("SITE-HEX") and
// snapshots do not (spec tsa.md §10.7).
var ruleHashSuffix = regexp.MustCompile(` \(rule_hash=(?:.+-)?([0-9a-f]{64})\)$`)

// ruleHash is the action hash a reason ends with, or "".
func ruleHash(reason string) string {
	if m := ruleHashSuffix.FindStringSubmatch(reason); m != nil {
		return m[1]
	}
	return ""
}

// suspensions lists the host's ready-queue suspensions whose name
// contains site.
func (e *e2eEnv) suspensions(site string) []readyQEntry {
	e.t.Helper()
	code, body := httpDo(e.t, "GET", e.admin+"/api/admin/suspend-ready-q/v1", nil)
	if code != http.StatusOK {
		e.t.Fatalf("GET suspend-ready-q: %d %s", code, body)
	}
	var all []readyQEntry
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		e.t.Fatalf("suspend-ready-q answer %q: %v", body, err)
	}
	var out []readyQEntry
	for _, s := range all {
		if strings.Contains(s.Name, site) {
			out = append(out, s)
		}
	}
	return out
}

func (e *e2eEnv) suspensionIDs(site string) []string {
	var ids []string
	for _, s := range e.suspensions(site) {
		ids = append(ids, s.ID)
	}
	return ids
}

// waitSuspension waits until the host lists a suspension for site whose
// id is not among notIDs (comma-separated) and checks its reason.
func (e *e2eEnv) waitSuspension(site, notIDs string) readyQEntry {
	e.t.Helper()
	var found readyQEntry
	poll(e.t, 90*time.Second, "the host to list a ready-queue suspension for "+site, func() (bool, string) {
		list := e.suspensions(site)
		for _, s := range list {
			if notIDs == "" || !strings.Contains(notIDs, s.ID) {
				found = s
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", list)
	})
	if !ruleHashSuffix.MatchString(found.Reason) {
		e.t.Errorf("suspension reason %q does not end in (rule_hash=...)", found.Reason)
	}
	if !strings.Contains(found.Reason, "you said 450-go-away") {
		e.t.Errorf("suspension reason %q does not name the rule", found.Reason)
	}
	return found
}

// waitOverrides waits until resolve-egress-path shows the rule's SetConfig
// values for domain and source.
func (e *e2eEnv) waitOverrides(domain, source string) {
	e.t.Helper()
	u := e.admin + "/api/admin/resolve-egress-path/v1?" + url.Values{"domain": {domain}, "source": {source}}.Encode()
	poll(e.t, 90*time.Second, "resolve-egress-path to show the overrides for "+domain, func() (bool, string) {
		code, body := httpDo(e.t, "GET", u, nil)
		if code != http.StatusOK {
			return false, fmt.Sprintf("%d %s", code, body)
		}
		var cfg map[string]any
		if err := json.Unmarshal([]byte(body), &cfg); err != nil {
			e.t.Fatalf("resolve-egress-path answer %q: %v", body, err)
		}
		return cfg["max_message_rate"] == "3/m" && cfg["max_deliveries_per_connection"] == float64(1),
			fmt.Sprintf("max_message_rate=%v max_deliveries_per_connection=%v", cfg["max_message_rate"], cfg["max_deliveries_per_connection"])
	})
}

// poll calls cond until it holds or the deadline passes.
func poll(t testing.TB, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s; last: %s", limit, what, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// httpDo sends a request (a JSON body when body is not nil) and returns
// the status and body.
func httpDo(t testing.TB, method, u string, body []byte) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, u, err)
	}
	return resp.StatusCode, string(b)
}
