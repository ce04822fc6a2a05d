package main

import (
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
)

// Mistakes and surprises found by trying kumopolicy as a new user would.

func TestResolveWarnsAboutMXFailureWithoutExplain(t *testing.T) {
	srv := dnstest.New(t)
	srv.ServFail("broken.example")
	policy := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { connection_limit = 2 }
end)
`)
	code, out, errs := runCLI("resolve", "--resolver", srv.Addr, "--policy", policy, "broken.example")
	if code != exitOK || !strings.Contains(out, "limit = 2") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(errs, "warning: MX lookup for broken.example failed: ") || !strings.Contains(errs, "using the domain as the site name") {
		t.Errorf("no warning about the failed MX lookup on stderr:\n%s", errs)
	}
	// A lookup that works prints nothing.
	srv.AddMX("fine.example", 10, "mx.fine.example", 300)
	if code, _, errs := runCLI("resolve", "--resolver", srv.Addr, "--policy", policy, "fine.example"); code != exitOK || strings.Contains(errs, "warning") {
		t.Errorf("fine.example: exit %d\n%s", code, errs)
	}
}

func TestResolveRejectsBadDomainsBeforeLookingUp(t *testing.T) {
	srv := dnstest.New(t)
	for _, c := range []struct{ domain, msg string }{
		{"", "DOMAIN is empty"},
		{"not a domain", `invalid DOMAIN "not a domain": ' ' cannot appear in a domain name`},
		{"ex@mple.com", `'@' cannot appear`},
		{".", "the root is not a mail domain"},
		{"[192.0.2.1", "malformed literal domain"},
		{"a..b", "Malformed label"},
	} {
		code, _, errs := runCLI("resolve", "--resolver", srv.Addr, c.domain)
		if code != exitUsage || !strings.Contains(errs, c.msg) {
			t.Errorf("resolve %q: exit %d, want %d with %q:\n%s", c.domain, code, exitUsage, c.msg, errs)
		}
	}
	if n := srv.TotalQueries(); n != 0 {
		t.Errorf("%d DNS queries for invalid domains", n)
	}
	// Domain literals and IDNs are domains.
	policy := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function() return kumo.make_egress_path {} end)
`)
	for _, d := range []string{"[192.0.2.1]", "[IPv6:2001:db8::1]", "bücher.example", "_x.example."} {
		if code, _, errs := runCLI("resolve", "--resolver", srv.Addr, "--site", "s", "--policy", policy, d); code != exitOK {
			t.Errorf("resolve %q: exit %d\n%s", d, code, errs)
		}
	}
}

func TestResolveChecksPolicyBeforeDNS(t *testing.T) {
	srv := dnstest.New(t)
	code, _, errs := runCLI("resolve", "--resolver", srv.Addr, "--policy", "/nonexistent/policy.lua", "example.com")
	if code != exitFailure || !strings.Contains(errs, "kumopolicy resolve: stat /nonexistent/policy.lua: no such file or directory") {
		t.Errorf("exit %d\n%s", code, errs)
	}
	if n := srv.TotalQueries(); n != 0 {
		t.Errorf("looked up %d names for a policy that does not exist", n)
	}
}

func TestVersionRejectsArguments(t *testing.T) {
	if code, out, errs := runCLI("version", "extra"); code != exitUsage || out != "" || !strings.Contains(errs, `unexpected argument "extra"`) {
		t.Errorf("version extra: exit %d %q %q", code, out, errs)
	}
}

func TestHelpNamesTSADaemon(t *testing.T) {
	_, out, _ := runCLI("--help")
	if !strings.Contains(out, "  tsa-daemon ") || strings.Contains(out, "not supported yet") {
		t.Errorf("--help:\n%s", out)
	}
}

func TestBadLogFilterNamesItsSource(t *testing.T) {
	policy := writePolicy(t, "local kumo = require 'kumo'\nkumo.on('main', function() end)\n")
	t.Setenv("KUMOPOLICY_LOG", "bogus")
	code, _, errs := runCLI("script", policy)
	if code != exitUsage || !strings.Contains(errs, `invalid $KUMOPOLICY_LOG "bogus"`) || strings.Contains(errs, "--log-level") {
		t.Errorf("bad env: exit %d\n%s", code, errs)
	}
	// The flag overrides a bad environment value.
	if code, _, errs := runCLI("script", "--log-level", "warn", policy); code != exitOK {
		t.Errorf("flag over bad env: exit %d\n%s", code, errs)
	}
	t.Setenv("KUMOPOLICY_LOG", "")
	code, _, errs = runCLI("script", "--log-level", "loud", policy)
	if code != exitUsage || !strings.Contains(errs, `invalid --log-level "loud": invalid level "loud"`) {
		t.Errorf("bad flag: exit %d\n%s", code, errs)
	}
}

func TestSetDiagnosticLogFilter(t *testing.T) {
	t.Setenv("KUMOPOLICY_LOG", "")
	// The troubleshooting advice of KumoMTA's docs, in init, validates.
	policy := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.log_debug('before-filter')
  kumo.set_diagnostic_log_filter 'kumod=debug'
  kumo.log_warn('lua-off-under-kumod-only')
  kumo.set_diagnostic_log_filter 'info,lua=debug'
  kumo.log_debug('after-filter')
end)
`)
	code, _, errs := runCLI("validate", "--policy", policy)
	if code != exitOK {
		t.Fatalf("validate: exit %d\n%s", code, errs)
	}
	if strings.Contains(errs, "before-filter") || strings.Contains(errs, "lua-off-under-kumod-only") || !strings.Contains(errs, "DEBUG lua: ") || !strings.Contains(errs, "after-filter") {
		t.Errorf("the filter did not take effect:\n%s", errs)
	}
	bad := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('init', function() kumo.set_diagnostic_log_filter 'kumod=chatty' end)
`)
	code, _, errs = runCLI("validate", "--policy", bad)
	if code != exitFailure || !strings.Contains(errs, `kumo.set_diagnostic_log_filter: invalid filter "kumod=chatty": directive "kumod=chatty": invalid level "chatty"`) {
		t.Errorf("bad filter: exit %d\n%s", code, errs)
	}
}
