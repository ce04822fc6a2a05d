package kumo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

type stubDNS map[string][]string

func (d stubDNS) SiteName(_ context.Context, domain string) (string, error) {
	hosts, ok := d[domain]
	if !ok {
		return "", errors.New("MX lookup for " + domain + " failed after 1ms: NXDOMAIN")
	}
	return strings.TrimSuffix(hosts[0], "."), nil
}

func (d stubDNS) MXHosts(_ context.Context, domain string) ([]string, error) {
	hosts, ok := d[domain]
	if !ok {
		return nil, errors.New("NXDOMAIN")
	}
	return hosts, nil
}

const bindingShaping = `
[default]
connection_limit = 10
max_message_rate = "100/hr"

["gmail.com"]
max_deliveries_per_connection = 50
[ "gmail.com".sources."ip-1" ]
connection_limit = 2

["nxdomain.example"]
connection_limit = 1

[provider."google"]
match = [{MXSuffix = ".google.com"}]
provider_connection_limit = 20
[[provider."google".automation]]
regex = "4\\.7\\.28"
action = "Suspend"
duration = "1h"
`

func shapingRuntime(t *testing.T, policy string) (*testingRuntime, string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "shaping.toml")
	if err := os.WriteFile(file, []byte(bindingShaping), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, _ := newRuntimeWith(t, strings.ReplaceAll(policy, "SHAPING_FILE", file), kumo.Services{Shaping: shaping.DefaultEnv(stubDNS{"gmail.com": {"gmail-smtp-in.l.google.com."}})})
	return &testingRuntime{rt}, file
}

func TestShapingLoadAndQuery(t *testing.T) {
	rt, _ := shapingRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local s = kumo.shaping.load({ 'SHAPING_FILE' }, { dns_fail = 'Warn' })
  local p = s:get_egress_path_config('gmail.com', 'ip-1', 'gmail-smtp-in.l.google.com')
  local refs = s:get_referenced_sources()
  return p.connection_limit, p.max_message_rate, p.max_deliveries_per_connection, p.provider_name,
    p.additional_connection_limits['shaping-provider-google-ip-1-limit'],
    #s:get_warnings(), s:get_warnings()[1], #s:get_errors(), refs['ip-1'][1], tostring(s):sub(1, 8),
    -- the hash is the content's: a second load agrees, other content does not
    s:hash() == kumo.shaping.load({ 'SHAPING_FILE' }, { dns_fail = 'Warn' }):hash(),
    s:hash() == kumo.shaping.load({ 'SHAPING_FILE', 'SHAPING_FILE' }, { dns_fail = 'Warn' }):hash()
end)
`)
	out := rt.mustFire(t, "main")
	want := []any{int64(2), "100/hr", int64(50), "google", "20", int64(1),
		"error resolving MX for nxdomain.example: MX lookup for nxdomain.example failed after 1ms: NXDOMAIN. Ignoring the shaping config for that domain.",
		int64(0), "site:gmail-smtp-in.l.google.com", "Shaping(", true, false}
	for i, w := range want {
		if out[i] != w {
			t.Errorf("result %d = %#v, want %#v", i, out[i], w)
		}
	}
}

func TestShapingMatchRules(t *testing.T) {
	rt, _ := shapingRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local s = kumo.shaping.load { 'SHAPING_FILE' }
  local record = {
    type = 'TransientFailure', id = 'x', sender = 's@example.com', recipient = { 'u@gmail.com' },
    queue = 'gmail.com', site = 'ip-1->gmail-smtp-in.l.google.com@smtp_client', size = 1,
    response = { code = 421, enhanced_code = { class = 4, subject = 7, detail = 28 }, content = 'slow down' },
    timestamp = 1700000000, created = 1700000000, num_attempts = 1, bounce_classification = 'Uncategorized',
    meta = {}, headers = {}, nodeid = 'd7ef132b-5a2a-4b2e-9b1c-6a1b5d4a9a11', egress_source = 'ip-1',
  }
  local rules = s:match_rules(record)
  record.site = nil
  local ok, err = pcall(s.match_rules, s, record)
  return #rules, rules[1].action[1], rules[1].duration, rules[1].trigger, ok, tostring(err)
end)
`)
	out := rt.mustFire(t, "main")
	if out[0] != int64(1) || out[1] != "Suspend" || out[2] != "1h" || out[3] != "Immediate" || out[4] != false {
		t.Fatalf("got %v", out)
	}
	if !strings.Contains(out[5].(string), "missing field `site`") {
		t.Fatalf("strict record conversion: %v", out[5])
	}
}

func TestShapingLoadErrors(t *testing.T) {
	rt, _ := shapingRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function(which)
  if which == 'option' then return kumo.shaping.load({ 'SHAPING_FILE' }, { provider_overlap = 'warn' }) end
  if which == 'unknown' then return kumo.shaping.load({ 'SHAPING_FILE' }, { bogus = true }) end
  if which == 'string' then return kumo.shaping.load('SHAPING_FILE') end
end)
`)
	cases := map[string]string{
		"option":  "kumo.shaping.load: provider_overlap: unknown variant `warn`, expected one of `Ignore`, `Warn`, `Error`",
		"unknown": "unknown field `bogus`, expected one of `provider_overlap`",
		"string":  "table expected",
	}
	for which, want := range cases {
		_, _, err := rt.rt.Fire(context.Background(), "main", which)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", which, err, want)
		}
	}
}

func TestShapingMemoizedIsShared(t *testing.T) {
	rt, file := shapingRuntime(t, `
local kumo = require 'kumo'
local loads = 0
local cached = kumo.memoize(function(files)
  loads = loads + 1
  return kumo.shaping.load(files)
end, { name = 'test.shaping', ttl = '1h', capacity = 4 })
kumo.on('main', function()
  local a = cached({ 'SHAPING_FILE' })
  local b = cached({ 'SHAPING_FILE' })
  return loads, a:hash(), rawequal(a, b), type(b), kumo.shaping.load({ 'SHAPING_FILE' }):hash()
end)
`)
	// Two states: the second one's call is a cache hit, so it answers from
	// the first load even though the file changed in between.
	s1, err := rt.rt.NewStandaloneState()
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	first := fireIn(t, s1)
	if first[0] != int64(1) || first[2] != false || first[3] != "userdata" || first[1] != first[4] {
		t.Fatalf("first state: %v", first)
	}
	if err := os.WriteFile(file, []byte(bindingShaping+"\n[\"changed.example\"]\nmx_rollup = false\nconnection_limit = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := rt.rt.NewStandaloneState()
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	second := fireIn(t, s2)
	if second[0] != int64(0) || second[1] != first[1] {
		t.Errorf("second state reloaded: loads %v, hash %v (first %v)", second[0], second[1], first[1])
	}
	if second[4] == first[1] {
		t.Errorf("a fresh load of the changed file has the old hash; the test proves nothing")
	}
}

// fireIn fires main in s and converts its results to Go data.
func fireIn(t *testing.T, s *luart.State) []any {
	t.Helper()
	out, _, err := s.Fire(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	res := make([]any, len(out))
	for i, v := range out {
		g, err := luart.ToGo(v)
		if err != nil {
			t.Fatal(err)
		}
		res[i] = g
	}
	return res
}
