// Package upstream runs KumoMTA's own Lua self-tests, unmodified, through
// the kumopolicy binary. Set KUMOPOLICY_KUMOMTA_CHECKOUT to a KumoMTA
// source checkout (the directory holding assets/); without it the tests
// skip.
package upstream

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func checkout(t *testing.T) string {
	dir := os.Getenv("KUMOPOLICY_KUMOMTA_CHECKOUT")
	if dir == "" {
		t.Skip("KUMOPOLICY_KUMOMTA_CHECKOUT is not set; skipping KumoMTA's own self-tests")
	}
	if _, err := os.Stat(filepath.Join(dir, "assets", "policy-extras")); err != nil {
		t.Fatalf("KUMOPOLICY_KUMOMTA_CHECKOUT=%s has no assets/policy-extras: %v", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// buildBinary compiles cmd/kumopolicy into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kumopolicy")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/kumopolicy")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The wrapper is what KumoMTA's own run-lua-tests harness generates: put the
// checkout's assets/ first on package.path, require the module, call
// mod:test().
const wrapper = `
package.path = os.getenv('KUMOPOLICY_KUMOMTA_CHECKOUT') .. '/assets/?.lua;' .. package.path
local kumo = require 'kumo'
kumo.on('main', function(name)
  local mod = require('policy-extras.' .. name)
  -- The module must come from the checkout, not kumopolicy's embedded copy.
  local info = debug.getinfo(mod.test, 'S')
  assert(info.source:find(os.getenv('KUMOPOLICY_KUMOMTA_CHECKOUT'), 1, true), 'loaded ' .. info.source)
  mod:test()
end)
`

func TestPolicyExtrasSelfTests(t *testing.T) {
	dir := checkout(t)
	t.Setenv("KUMOPOLICY_KUMOMTA_CHECKOUT", dir)
	bin := buildBinary(t)
	script := filepath.Join(t.TempDir(), "selftest.lua")
	if err := os.WriteFile(script, []byte(wrapper), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mod := range []string{"policy_utils", "typing", "sources"} {
		t.Run(mod, func(t *testing.T) {
			out, err := exec.Command(bin, "script", script, mod).CombinedOutput()
			if err != nil {
				t.Fatalf("%s:test() failed: %v\n%s", mod, err, out)
			}
			if strings.TrimSpace(string(out)) != "" {
				t.Logf("output:\n%s", out)
			}
		})
	}
}
