package kumo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	rt := newRuntime(t, strings.ReplaceAll(policy, "SHAPING_FILE", file))
	kumo.SetShapingEnv(rt, shaping.DefaultEnv(stubDNS{"gmail.com": {"gmail-smtp-in.l.google.com."}}))
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
    #s:get_warnings(), s:get_warnings()[1], #s:get_errors(), #s:hash(), refs['ip-1'][1], tostring(s):sub(1, 8)
end)
`)
	out := rt.mustFire(t, "main")
	want := []any{int64(2), "100/hr", int64(50), "google", "20", int64(1),
		"error resolving MX for nxdomain.example: MX lookup for nxdomain.example failed after 1ms: NXDOMAIN. Ignoring the shaping config for that domain.",
		int64(0), int64(64), "site:gmail-smtp-in.l.google.com", "Shaping("}
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
		"option":  "unknown variant `warn`, expected one of `Ignore`, `Warn`, `Error`",
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
	rt, _ := shapingRuntime(t, `
local kumo = require 'kumo'
local loads = 0
local cached = kumo.memoize(function(files)
  loads = loads + 1
  return kumo.shaping.load(files)
end, { name = 'test.shaping', ttl = '1h', capacity = 4 })
kumo.on('main', function()
  local a = cached({ 'SHAPING_FILE' })
  local b = cached({ 'SHAPING_FILE' })
  return loads, a:hash() == b:hash(), rawequal(a, b), type(b)
end)
`)
	out := rt.mustFire(t, "main")
	if out[0] != int64(1) || out[1] != true || out[2] != false || out[3] != "userdata" {
		t.Fatalf("got %v", out)
	}
}
