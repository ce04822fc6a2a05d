package main

import (
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
)

// The reported defect: with a block spread over several files, every
// option was blamed on all of them, the "overrode" line was missing, and a
// validation error in one file named every file.
func TestExplainAttributesEachOptionToItsFile(t *testing.T) {
	dir := t.TempDir()
	ns := dnstest.New(t).Addr
	a := writeFile(t, dir, "a.toml", "[default]\nconnect_timeout = \"10s\"\nadditional_connection_limits = { x = 1, y = 2 }\n")
	b := writeFile(t, dir, "b.toml", "[default]\nidle_timeout = \"20s\"\nconnect_timeout = \"30s\"\nadditional_connection_limits = { y = 3 }\n")
	c := writeFile(t, dir, "c.toml", "[default]\nconection_limit = 3\n")
	policy := writeFile(t, dir, "pol.lua", `
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation { no_default_files = true, extra_files = {'`+a+`','`+b+`'} }
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`)
	code, out, errs := runCLI("resolve", "--resolver", ns, "--policy", policy, "--site", "x", "--explain", "example.com")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"connect_timeout = \"30s\"\n    set by default in " + b + " [default]: \"30s\"\n    overrode \"10s\" from default in " + a + " [default]\n",
		"idle_timeout = \"20s\"\n    set by default in " + b + " [default]: \"20s\"\n",
		"    \"x\" set by default in " + a + " [default]: 1\n",
		"    \"y\" set by default in " + b + " [default]: 3\n        overrode 2 from default in " + a + " [default]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q\n%s", want, out)
		}
	}

	code, _, errs = runCLI("validate-shaping", "--resolver", ns, a, b, c)
	if code != exitFailure || !strings.Contains(errs, "unknown field `conection_limit`") || !strings.Contains(errs, "(defined in "+c+" [default])") {
		t.Fatalf("validate-shaping: exit %d\n%s", code, errs)
	}
	if strings.Contains(errs, a) || strings.Contains(errs, b) {
		t.Errorf("validate-shaping blames files without the bad option:\n%s", errs)
	}
}

func TestExplainReplaceBaseAndProviderFiles(t *testing.T) {
	dir := t.TempDir()
	ns := dnstest.New(t).Addr
	a := writeFile(t, dir, "a.toml", `
["example.org"]
mx_rollup = false
connect_timeout = "10s"
idle_timeout = "5s"
[provider."bigmail"]
match = [{DomainSuffix = "example.org"}]
provider_connection_limit = 20
`)
	b := writeFile(t, dir, "b.toml", `
["example.org"]
mx_rollup = false
replace_base = true
connect_timeout = "30s"
[provider."bigmail"]
provider_connection_limit = 25
match = [{MXSuffix = ".never.example."}]
`)
	policy := writeFile(t, dir, "pol.lua", `
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation { no_default_files = true, extra_files = {'`+a+`','`+b+`'} }
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`)
	code, out, errs := runCLI("resolve", "--resolver", ns, "--log-level", "error", "--policy", policy, "--source", "ip-1", "--site", "x", "--explain", "example.org")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		// the replaced definition's value is discarded, not overridden
		"connect_timeout = \"30s\"\n    set by domain example.org in " + b + " [\"example.org\"]: \"30s\"\n    (its replace_base discarded what " + a + " [\"example.org\"] set)\n",
		"idle_timeout = \"5s\"\n    built-in default\n",
		// the implied limit comes from the file with the last provider_connection_limit
		"\"shaping-provider-bigmail-ip-1-limit\" set by provider bigmail (implied by its provider_* settings) in " + b + " [provider.bigmail]: \"25\"\n        overrode \"20\" from provider bigmail (implied by its provider_* settings) in " + a + " [provider.bigmail]\n",
		"provider_name = \"bigmail\"\n    set by provider bigmail (implied by its provider_* settings) in " + a + " [provider.bigmail]: \"bigmail\"\n",
		// the lint is about b.toml's match entry
		"can never match: names are compared without their trailing dot; remove it (in " + b + " [provider.bigmail])",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q\n%s", want, out)
		}
	}
}
