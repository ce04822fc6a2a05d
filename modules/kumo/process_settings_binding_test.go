package kumo_test

import (
	"strings"
	"testing"
)

func TestProcessSettingsAreCheckedAndRecorded(t *testing.T) {
	rt, svc := newKumodRuntime(t, true, `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.set_logging_threads(4)
  kumo.set_smtpsrv_threads(16)
  kumo.dkim.set_signing_threads(2)
  kumo.set_httpinject_recipient_rate_limit 'local:10,000/s'
  kumo.set_lruttl_cache_capacity('dns_resolver_mx', 128000)
  kumo.aaa.set_acl_cache_ttl '5 minutes'
  kumo.aaa.set_check_cache_ttl(90)
  kumo.aaa.set_fall_back_to_acl_map(false)
  kumo.suspend_delivery_when_spool_unhealthy(false)
  kumo.aaa.configure_acct_log { log_dir = '/var/log/kumomta/acct', log_authn_ok = false, max_segment_duration = '5 minutes' }
  kumo.set_logging_threads(6)
end)
`)
	fire(t, rt, "init")
	var got []string
	for _, r := range svc.Recorder.Records() {
		got = append(got, r.Func+": "+r.Summary()+" ["+string(r.Disposition)+"]")
	}
	want := []string{
		"set_logging_threads: set_logging_threads = 4 [recorded]",
		"set_smtpsrv_threads: set_smtpsrv_threads = 16 [recorded]",
		"dkim.set_signing_threads: dkim.set_signing_threads = 2 [recorded]",
		"set_httpinject_recipient_rate_limit: set_httpinject_recipient_rate_limit = local:10000/s [recorded]",
		"set_lruttl_cache_capacity: set_lruttl_cache_capacity dns_resolver_mx = 128000 [recorded]",
		"aaa.set_acl_cache_ttl: aaa.set_acl_cache_ttl = 5m [recorded]",
		"aaa.set_check_cache_ttl: aaa.set_check_cache_ttl = 1m 30s [recorded]",
		"aaa.set_fall_back_to_acl_map: aaa.set_fall_back_to_acl_map = false [recorded]",
		"suspend_delivery_when_spool_unhealthy: suspend_delivery_when_spool_unhealthy = false [recorded]",
		"aaa.configure_acct_log: accounting log: /var/log/kumomta/acct [would create the log directory]",
		"set_logging_threads: set_logging_threads = 6 [recorded]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if v, ok := svc.Recorder.Setting("set_logging_threads"); !ok || v != int64(6) {
		t.Errorf("last set_logging_threads: %v %v", v, ok)
	}
	if v, ok := svc.Recorder.Setting("dns_resolver_mx"); !ok || v != int64(128000) {
		t.Errorf("dns_resolver_mx capacity: %v %v", v, ok)
	}
}

func TestProcessSettingErrors(t *testing.T) {
	rt, svc := newKumodRuntime(t, true, `
local kumo = require 'kumo'
local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, 'call succeeded')
  return tostring(err)
end
kumo.on('main', function()
  kumo.aaa.configure_acct_log { log_dir = '/acct' }
  return {
    err_of(kumo.set_logging_threads, -1),
    err_of(kumo.set_logging_threads, 'four'),
    err_of(kumo.set_memory_hard_limit, 1.5),
    err_of(kumo.set_httpinject_recipient_rate_limit, 'fast'),
    err_of(kumo.set_lruttl_cache_capacity, 'dns_mx', 10),
    err_of(kumo.set_lruttl_cache_capacity, 'dns_resolver_mx', 'big'),
    err_of(kumo.aaa.set_acl_cache_ttl, 'soon'),
    err_of(kumo.aaa.set_fall_back_to_acl_map, 'yes'),
    err_of(kumo.aaa.configure_acct_log, { log_dir = '/acct2' }),
    err_of(kumo.aaa.configure_acct_log, { log_dir = '/acct2', log_everything = true }),
    err_of(kumo.aaa.configure_acct_log, {}),
  }
end)
`)
	out := fire(t, rt, "main")[0].([]any)
	wants := []string{
		"kumo.set_logging_threads: invalid value: integer `-1`, expected usize",
		"kumo.set_logging_threads: invalid type: string \"four\", expected usize",
		"kumo.set_memory_hard_limit: invalid type: floating point `1.5`, expected usize",
		"kumo.set_httpinject_recipient_rate_limit: ",
		`kumo.set_lruttl_cache_capacity: no cache named "dns_mx"; the caches whose capacity can be set are: acl_check,`,
		"kumo.set_lruttl_cache_capacity: capacity: invalid type: string \"big\", expected usize",
		"kumo.aaa.set_acl_cache_ttl: ",
		"kumo.aaa.set_fall_back_to_acl_map: invalid type: string \"yes\", expected a boolean",
		"kumo.aaa.configure_acct_log: the accounting log is already configured; it can be configured once",
		"unknown field `log_everything`",
		"missing field `log_dir`",
	}
	for i, w := range wants {
		if got := out[i].(string); !strings.Contains(got, w) {
			t.Errorf("error %d:\n got %q\nwant %q", i+1, got, w)
		}
	}
	if n := len(svc.Recorder.Records()); n != 1 {
		t.Errorf("%d records; only the first configure_acct_log should be", n)
	}
}

func TestMemoryLimitGetters(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"", "nil nil nil"},
		{"kumo.set_memory_hard_limit(100000)", "100000 75000 60000"},
		{"kumo.set_memory_hard_limit(100000) kumo.set_memory_soft_limit(80000)", "100000 80000 64000"},
		{"kumo.set_memory_soft_limit(80000) kumo.set_memory_low_thresh(1000)", "nil 80000 1000"},
	} {
		rt, _ := newKumodRuntime(t, false, `
local kumo = require 'kumo'
kumo.on('main', function()
  `+tc.src+`
  return string.format('%s %s %s', tostring(kumo.get_memory_hard_limit()),
    tostring(kumo.get_memory_soft_limit()), tostring(kumo.get_memory_low_thresh()))
end)
`)
		if got := fire(t, rt, "main")[0]; got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.src, got, tc.want)
		}
	}
}
