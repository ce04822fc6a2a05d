package main

import (
	"os"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
)

// TestMain points /opt/kumomta/share and /opt/kumomta/etc at empty
// directories, so that the tests behave the same on a machine where
// KumoMTA is installed: the default policy and the default shaping file
// are then kumopolicy's embedded ones everywhere.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kumopolicy-install-")
	if err != nil {
		panic(err)
	}
	for _, sub := range []string{"share", "etc"} {
		if err := os.Mkdir(dir+"/"+sub, 0o755); err != nil {
			panic(err)
		}
	}
	installDirs.share, installDirs.etc = dir+"/share", dir+"/etc"
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// --share-dir and --etc-dir move what policies name under /opt/kumomta:
// the default policy, the require roots and the default shaping file.
func TestShareAndEtcDirs(t *testing.T) {
	share, etc := t.TempDir(), t.TempDir()
	for _, d := range []string{share + "/policy-extras", etc + "/policy"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, share, "policy-extras/shaping.toml", "[default]\nconnection_limit = 7\n")
	writeFile(t, share, "site_helper.lua", "return { limit = 3 }\n")
	writeFile(t, etc, "policy/init.lua", `
local kumo = require 'kumo'
local helper = require 'site_helper' -- found under --share-dir
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation {}
kumo.on('get_egress_path_config', function(domain, source, site)
  local p = shaper.get_egress_path_config(domain, source, site, true)
  p.max_deliveries_per_connection = helper.limit
  return kumo.make_egress_path(p)
end)
`)
	code, out, errs := runCLI("resolve", "--resolver", dnstest.New(t).Addr, "--share-dir", share, "--etc-dir", etc, "--site", "s", "--explain", "example.org")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	shaping := share + "/policy-extras/shaping.toml"
	for _, want := range []string{"limit = 7", "max_deliveries_per_connection = 3", "set by default in " + shaping + " [default]"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "embedded default") {
		t.Errorf("the embedded default was used although %s exists:\n%s", shaping, out)
	}
	// validate-shaping reads /opt/kumomta/share paths from --share-dir too.
	code, _, errs = runCLI("validate-shaping", "--resolver", dnstest.New(t).Addr, "--share-dir", share, "/opt/kumomta/share/policy-extras/shaping.toml")
	if code != exitOK || !strings.HasSuffix(errs, "OK\n") {
		t.Errorf("validate-shaping --share-dir: exit %d\n%s", code, errs)
	}
}

// The default policy names its shaping files as kumo.shaping.load does:
// with KumoMTA's default file present under --share-dir, that file, not the
// embedded stand-in (one Go rule, kumo.shaping._display_names, instead of a
// Lua guess that only looked at /opt/kumomta itself).
func TestDefaultPolicyNamesMappedShapingFile(t *testing.T) {
	share := t.TempDir()
	if err := os.MkdirAll(share+"/policy-extras", 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, share, "policy-extras/shaping.toml", "[default]\nconnection_limit = 7\n")
	code, _, errs := runCLI("validate", "--resolver", dnstest.New(t).Addr, "--share-dir", share)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if want := "shaping from " + share + "/policy-extras/shaping.toml\n"; !strings.Contains(errs, want) {
		t.Errorf("missing %q in\n%s", want, errs)
	}
}
