package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
)

// A policy that configures a Test resolver in init makes resolve's MX
// lookup answer from its zones, as kumod's would: init runs first.
func TestResolveUsesTheTestResolverOfInit(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddMX("example.test", 10, "mx.from-the-server.test", 300)
	policy := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.dns.configure_test_resolver {
    [[
$ORIGIN example.test.
@ 300 IN MX 10 mx1.example.test.
@ 300 IN MX 10 mx2.example.test.
]],
  }
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { ehlo_domain = site }
end)
`)
	code, out, errs := runCLI("resolve", "--resolver", srv.Addr, "--policy", policy, "example.test")
	if code != exitOK || !strings.Contains(out, `ehlo_domain = "(mx1|mx2).example.test"`) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if n := srv.Queries("example.test."); n != 0 {
		t.Errorf("the name server was asked %d times", n)
	}
	// A name outside the zones is NXDOMAIN, not a question to the server.
	code, _, errs = runCLI("resolve", "--resolver", srv.Addr, "--policy", policy, "other.test")
	if code != exitOK || !strings.Contains(errs, "NXDOMAIN; using the domain as the site name") || srv.TotalQueries() != 0 {
		t.Fatalf("exit %d, %d queries\n%s", code, srv.TotalQueries(), errs)
	}
}

// An init that fails is reported, and resolve goes on without it.
func TestResolveWarnsWhenInitFails(t *testing.T) {
	srv := dnstest.New(t)
	policy := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('init', function() error('init broke') end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path {}
end)
`)
	code, _, errs := runCLI("resolve", "--resolver", srv.Addr, "--site", "s", "--policy", policy, "example.test")
	if code != exitOK || !strings.Contains(errs, "warning: the policy's init failed, resolving without it: init: ") || !strings.Contains(errs, "init broke") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
}

// resolve fires init but starts none of the tasks init asks for: a TSA
// subscriber or any other spawned task would outlive the question.
func TestResolveStartsNoTasks(t *testing.T) {
	srv := dnstest.New(t)
	marker := filepath.Join(t.TempDir(), "task-ran")
	policy := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('init', function() kumo.spawn_task { event_name = 'worker', args = {} } end)
kumo.on('worker', function()
  local f = assert(io.open('`+marker+`', 'w'))
  f:write('ran')
  f:close()
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  -- give a started task the time to show itself
  for _ = 1, 40 do
    local f = io.open('`+marker+`')
    if f then f:close() break end
    kumo.sleep(0.05)
  end
  return kumo.make_egress_path {}
end)
`)
	code, _, errs := runCLI("resolve", "--resolver", srv.Addr, "--site", "s", "--policy", policy, "example.test")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("resolve ran the task init spawned")
	}
}
