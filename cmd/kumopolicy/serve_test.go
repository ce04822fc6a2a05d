package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
)

func TestServeBinaryEndToEnd(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "init.lua")
	os.WriteFile(policy, []byte(`
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.start_esmtp_listener { listen = '127.0.0.1:0' }
  kumo.define_spool { name = 'data', path = '/nonexistent/spool' }
  kumo.spawn_task { event_name = 'worker', args = {} }
end)
kumo.on('worker', function()
  kumo.api.admin.bounce.bounce { domain = 'bounced.example', reason = 'from the task' }
  while true do kumo.sleep(60) end
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { connection_limit = 7 }
end)
`), 0o644)
	p := startProc(t, dir, nil, "serve", "--policy", policy, "--etc-dir", dir)
	if len(p.addrs) != 1 || strings.HasSuffix(p.addrs[0], ":0") {
		t.Fatalf("want one listener with its bound port, got %q:\n%s", p.addrs, p.log())
	}
	base := "http://" + p.addrs[0]
	if code, body := httpDo(t, "GET", base+"/api/check-liveness/v1", "", ""); code != 200 || body != "OK" {
		t.Fatalf("liveness: %d %q", code, body)
	}
	if code, body := httpDo(t, "GET", base+"/api/admin/resolve-egress-path/v1?domain=example.com&site=mx.example.com", "", ""); code != 200 || !strings.Contains(body, `"connection_limit":{"limit":7`) {
		t.Fatalf("resolve: %d %s", code, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := httpDo(t, "GET", base+"/api/admin/bounce/v1", "", "")
		if strings.Contains(body, `"domain":"bounced.example"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task's bounce never appeared: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, p.log())
	}
	if log := p.log(); !strings.Contains(log, "shutting down") || strings.Contains(log, "still running") {
		t.Errorf("log:\n%s", log)
	}
}

func TestServeWithoutListener(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "init.lua")
	os.WriteFile(policy, []byte(`local kumo = require 'kumo'
kumo.on('init', function() end)`), 0o644)
	p := startProc(t, dir, nil, "serve", "--policy", policy)
	if !strings.Contains(p.log(), "no admin listener is configured") {
		t.Fatalf("log:\n%s", p.log())
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// The embedded default policy answers the admin API, on loopback: a new
// user's `kumopolicy serve` has something to ask.
func TestServeEmbeddedDefaultPolicy(t *testing.T) {
	dir := t.TempDir()
	srv := dnstest.New(t)
	srv.AddMX("example.test", 10, "mx.example.test", 300)
	p := startProc(t, dir, []string{"KUMOPOLICY_ADMIN_LISTEN=127.0.0.1:0"}, "serve",
		"--etc-dir", filepath.Join(dir, "etc"), "--share-dir", filepath.Join(dir, "share"), "--resolver", srv.Addr)
	if len(p.addrs) != 1 || !strings.HasPrefix(p.addrs[0], "127.0.0.1:") {
		t.Fatalf("want one loopback listener, got %q:\n%s", p.addrs, p.log())
	}
	code, body := httpDo(t, "GET", "http://"+p.addrs[0]+"/api/admin/resolve-egress-path/v1?domain=example.test", "", "")
	if code != 200 || !strings.Contains(body, `"connection_limit":{"limit":10`) {
		t.Fatalf("resolve: %d %s", code, body)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, p.log())
	}
}
