package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
)

// kumoDefaultShaping is KumoMTA's installed default shaping file, for which
// policies get kumopolicy's embedded default data when it is missing.
const kumoDefaultShaping = "/opt/kumomta/share/policy-extras/shaping.toml"

// installedDefaultShaping is where this test process looks for KumoMTA's
// default shaping file: under the empty stand-in for /opt/kumomta/share
// that TestMain sets up, so a KumoMTA install on the machine changes
// nothing.
func installedDefaultShaping() string {
	return filepath.Join(installDirs.share, "policy-extras", "shaping.toml")
}

// validate-shaping checks the operator's real files: a missing file is an
// error naming it, also KumoMTA's default file, for which only policies
// get the embedded default.
func TestValidateShapingMissingFileIsAnError(t *testing.T) {
	ns := dnstest.New(t).Addr
	code, _, errs := runCLI("validate-shaping", "--resolver", ns, kumoDefaultShaping)
	if code != exitFailure || strings.Contains(errs, "OK") ||
		!strings.Contains(errs, "ERROR: local shaping source "+kumoDefaultShaping+" error: loading data from file "+installedDefaultShaping()+": No such file or directory") {
		t.Errorf("%s: exit %d\n%s", kumoDefaultShaping, code, errs)
	}
	if !strings.Contains(errs, "note: ") || !strings.Contains(errs, kumo.EmbeddedDataName(kumoDefaultShaping)) {
		t.Errorf("no note about the embedded default:\n%s", errs)
	}

	other := filepath.Join(t.TempDir(), "shaping.toml")
	code, _, errs = runCLI("validate-shaping", "--resolver", ns, other)
	if code != exitFailure || strings.Contains(errs, "OK") || !strings.Contains(errs, "loading data from file "+other+": No such file or directory") || strings.Contains(errs, "note: ") {
		t.Errorf("%s: exit %d\n%s", other, code, errs)
	}
}

// resolve --explain names the embedded default as what it is, never as
// KumoMTA's file, and the stand-in is logged once.
func TestResolveExplainNamesTheEmbeddedDefault(t *testing.T) {
	dir := t.TempDir()
	ns := dnstest.New(t).Addr
	policy := writeFile(t, dir, "policy.lua", `
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation {}
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`)
	code, out, errs := runCLI("resolve", "--resolver", ns, "--policy", policy, "--site", "x", "--explain", "x.org")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	name := kumo.EmbeddedDataName(kumoDefaultShaping)
	if want := "connection_limit = {\"limit\":10,\"force_local\":false}\n    set by default in " + name + " [default]: 10\n"; !strings.Contains(out, want) {
		t.Errorf("explain output lacks %q\n%s", want, out)
	}
	if strings.Contains(out, "in "+kumoDefaultShaping) {
		t.Errorf("explain output cites %s for the embedded default:\n%s", kumoDefaultShaping, out)
	}
	// The message names KumoMTA's path and where it was looked for (the
	// test's stand-in for /opt/kumomta/share).
	if n := strings.Count(errs, kumoDefaultShaping+" (looked for at "+installedDefaultShaping()+") does not exist; kumo.shaping.load uses kumopolicy's embedded default data in its place"); n != 1 {
		t.Errorf("the stand-in was logged %d times, want once:\n%s", n, errs)
	}
}
