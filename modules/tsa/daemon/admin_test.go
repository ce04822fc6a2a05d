package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
)

// adminPolicy: a default rule that suspends and overrides, a domain rule
// that bounces; one trusted listener and one that trusts nobody here.
func adminPolicy(t *testing.T, dir string) string {
	t.Helper()
	rules := writeFile(t, dir, "rules.toml", `[["default".automation]]
regex = "421 admin-me"
action = ["Suspend", {SetConfig={name="max_connection_rate", value="2/m"}}]
duration = "2 hours"

["example.com"]
mx_rollup = false

[["example.com".automation]]
regex = "bounce-me"
action = "Bounce"
duration = "1 hour"
`)
	return writeFile(t, dir, "policy.lua", fmt.Sprintf(`local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_init', function()
  tsa.start_http_listener { listen = '127.0.0.1:0' }
  tsa.start_http_listener { listen = '127.0.0.1:0', trusted_hosts = { '192.0.2.0/24' } }
end)
kumo.on('tsa_load_shaping_data', function()
  return kumo.shaping.load { %q }
end)
`, rules))
}

type adminEntry struct {
	Key   string          `json:"key"`
	Kind  string          `json:"kind"`
	Entry json.RawMessage `json:"entry"`
	Rule  struct {
		Hash     string   `json:"hash"`
		Regex    []string `json:"regex"`
		Actions  []string `json:"actions"`
		Trigger  string   `json:"trigger"`
		Duration string   `json:"duration"`
		File     string   `json:"file"`
		Block    string   `json:"block"`
	} `json:"rule"`
}

type adminList struct {
	ReadyQ    []adminEntry `json:"ready_q"`
	SchedQ    []adminEntry `json:"sched_q"`
	Bounces   []adminEntry `json:"bounces"`
	Overrides []adminEntry `json:"overrides"`
}

func listEntries(t *testing.T, base string) adminList {
	t.Helper()
	var l adminList
	if err := json.Unmarshal([]byte(get(t, base+daemon.AdminEntriesPath)), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// actionHash is the hash element of an entry key.
func actionHash(t *testing.T, key string) string {
	t.Helper()
	var parts []*string
	if err := json.Unmarshal([]byte(key), &parts); err != nil || len(parts) < 2 || parts[1] == nil {
		t.Fatalf("key %s: %v", key, err)
	}
	return *parts[1]
}

func cancelKey(t *testing.T, base, key string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"key": key})
	code, resp, _ := do(t, http.MethodPost, base+daemon.AdminCancelPath, "application/json", body)
	return code, resp
}

func TestAdminListAndCancel(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(t.TempDir(), "tsa.db")
	policy := adminPolicy(t, dir)
	f := start(t, policy, daemon.Options{DBPath: db})
	untrusted := "http://" + f.d.Addrs()[1]
	ws := dial(t, f.base, daemon.SubscribeEventPath)
	now := time.Now()
	for _, content := range []string{"421 admin-me now", "550 bounce-me please"} {
		if code, body, _ := do(t, http.MethodPost, f.base+"/publish_log_v1", "application/json",
			record("TransientFailure", content, 421, now)); code != http.StatusOK {
			t.Fatalf("publish: %d %q", code, body)
		}
	}
	poll(t, f.base+daemon.BouncedPath, func(b string) bool { return strings.Contains(b, "bounce-me") })
	poll(t, f.base+daemon.SuspendedPath, func(b string) bool { return strings.Contains(b, "admin-me") })
	live := []string{readFrame(t, ws), readFrame(t, ws)}

	l := listEntries(t, f.base)
	if len(l.ReadyQ) != 1 || len(l.Bounces) != 1 || len(l.Overrides) != 1 || len(l.SchedQ) != 0 {
		t.Fatalf("entries: %+v", l)
	}
	rules := filepath.Join(dir, "rules.toml")
	for _, c := range []struct {
		e              adminEntry
		kind, re, blk  string
		actions, dur   string
		entryHasString string
	}{
		{l.ReadyQ[0], automation.KindReady, "421 admin-me", "default", "Suspend", "2h0m0s", `"site_name":"source2->example.com@smtp_client"`},
		{l.Overrides[0], automation.KindOverride, "421 admin-me", "default", "Suspend", "2h0m0s", `"name":"max_connection_rate","value":"2/m"`},
		{l.Bounces[0], automation.KindBounce, "bounce-me", `"example.com"`, "Bounce", "1h0m0s", `"domain":"example.com","tenant":null`},
	} {
		r := c.e.Rule
		if c.e.Kind != c.kind || len(r.Regex) != 1 || r.Regex[0] != c.re || r.Block != c.blk || r.File != rules ||
			len(r.Actions) == 0 || r.Actions[0] != c.actions || r.Duration != c.dur || len(r.Hash) != 64 || r.Trigger != "Immediate" {
			t.Errorf("%s entry %s: rule %+v", c.kind, c.e.Key, r)
		}
		// The entry's rule_hash is the action's hash (KumoMTA's wire
		// value), the key's second element.
		if !strings.Contains(string(c.e.Entry), c.entryHasString) || !strings.Contains(string(c.e.Entry), actionHash(t, c.e.Key)) {
			t.Errorf("%s entry %s", c.kind, c.e.Entry)
		}
		if !strings.HasPrefix(c.e.Key, `["`+c.kind+`","`) {
			t.Errorf("%s key %s", c.kind, c.e.Key)
		}
	}

	// Untrusted peers get KumoMTA's 401 on both routes.
	for _, r := range []struct{ method, path string }{{http.MethodGet, daemon.AdminEntriesPath}, {http.MethodPost, daemon.AdminCancelPath}} {
		code, body, _ := do(t, r.method, untrusted+r.path, "application/json", []byte(`{"key":"`+l.ReadyQ[0].Key+`"}`))
		want := "<Unauthenticated>@ ip=127.0.0.1 not permitted " + r.method + " on http_listener/" + f.d.Addrs()[1] + r.path
		if code != http.StatusUnauthorized || body != want {
			t.Errorf("untrusted %s %s: %d %q, want 401 %q", r.method, r.path, code, body, want)
		}
	}
	if got := listEntries(t, f.base); len(got.ReadyQ) != 1 {
		t.Fatal("an untrusted cancel removed the entry")
	}

	// Cancel all three.
	for _, e := range []adminEntry{l.ReadyQ[0], l.Overrides[0], l.Bounces[0]} {
		code, body := cancelKey(t, f.base, e.Key)
		if code != http.StatusOK || !strings.HasPrefix(body, `{"cancelled":{"key":`+fmt.Sprintf("%q", e.Key)) || !strings.Contains(body, e.Rule.Hash) {
			t.Errorf("cancel %s: %d %s", e.Key, code, body)
		}
	}
	// Subscribers got the suspension and the bounce expired at once, in
	// the shapes kumod applies (it replaces its entry with an inactive one).
	for i, want := range []string{`{"ReadyQSuspension":{"rule_hash":"source2->example.com@smtp_client-` + actionHash(t, l.ReadyQ[0].Key),
		`{"SchedQBounce":{"rule_hash":"source2->example.com@smtp_client-` + actionHash(t, l.Bounces[0].Key)} {
		frame := readFrame(t, ws)
		if !strings.HasPrefix(frame, want) || !strings.Contains(frame, `"reason":"`+automation.CancelReasonPrefix) {
			t.Errorf("cancel frame %d: %s (live frames were %q)", i, frame, live)
		}
	}
	// Gone from every output.
	if l := listEntries(t, f.base); len(l.ReadyQ)+len(l.SchedQ)+len(l.Bounces)+len(l.Overrides) != 0 {
		t.Errorf("entries after cancelling: %+v", l)
	}
	if s := get(t, f.base+daemon.SuspendedPath); s != `{"ready_q":[],"sched_q":[]}` {
		t.Errorf("suspended.json: %s", s)
	}
	if s := get(t, f.base+daemon.BouncedPath); s != `[]` {
		t.Errorf("bounced.json: %s", s)
	}
	if s := get(t, f.base+daemon.ShapingPath); !strings.Contains(s, "# Number of entries: 0") {
		t.Errorf("shaping.toml:\n%s", s)
	}

	// Unknown and malformed keys, bad bodies.
	code, body := cancelKey(t, f.base, l.ReadyQ[0].Key)
	if code != http.StatusNotFound || !strings.Contains(body, "no active entry with key "+l.ReadyQ[0].Key) {
		t.Errorf("cancelling twice: %d %q", code, body)
	}
	if code, body := cancelKey(t, f.base, `["ready","nothex","x"]`); code != http.StatusBadRequest || !strings.Contains(body, "64 hex") {
		t.Errorf("malformed key: %d %q", code, body)
	}
	for _, b := range []string{``, `{}`, `{"id":"x"}`, `["ready"]`} {
		if code, body, _ := do(t, http.MethodPost, f.base+daemon.AdminCancelPath, "application/json", []byte(b)); code != http.StatusBadRequest || !strings.Contains(body, `{"key":`) {
			t.Errorf("body %q: %d %q", b, code, body)
		}
	}

	// A restart on the same db path does not bring them back.
	if err := f.d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := start(t, policy, daemon.Options{DBPath: db})
	if l := listEntries(t, g.base); len(l.ReadyQ)+len(l.SchedQ)+len(l.Bounces)+len(l.Overrides) != 0 {
		t.Errorf("entries after a restart: %+v", l)
	}
	if s := get(t, g.base+daemon.ShapingPath); !strings.Contains(s, "# Number of entries: 0") {
		t.Errorf("shaping.toml after a restart:\n%s", s)
	}
}
