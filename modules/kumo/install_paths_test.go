package kumo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
)

// Files a policy names under /opt/kumomta/etc are served from --etc-dir by
// toml_load/json_load, configure_bounce_classifier and
// eval_config_monitor_globs, which report them under their /opt names.
func TestInstallPathMapping(t *testing.T) {
	etc := t.TempDir()
	for name, body := range map[string]string{
		"policy/data.toml": "a = 1\n",
		"policy/data.json": `{"b": 2}`,
		"policy/iana.toml": "",
		"policy/skip.txt":  "",
		"policy/sub/x.lua": "",
	} {
		p := filepath.Join(etc, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rt, _ := newRuntimeWith(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.configure_bounce_classifier { files = { '/opt/kumomta/etc/policy/iana.toml' } }
  local ok, err = pcall(kumo.toml_load, '/opt/kumomta/etc/policy/missing.toml')
  return kumo.toml_load('/opt/kumomta/etc/policy/data.toml').a,
    kumo.serde.json_load('/opt/kumomta/etc/policy/data.json').b,
    table.concat(kumo.eval_config_monitor_globs(), ','), tostring(err)
end)
`, kumo.Services{Paths: paths.New([2]string{"/opt/kumomta/etc", etc})})
	out, _, err := rt.Fire(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	wantValues(t, out[:3], int64(1), int64(2),
		"/opt/kumomta/etc/policy/data.json,/opt/kumomta/etc/policy/data.toml,/opt/kumomta/etc/policy/iana.toml,/opt/kumomta/etc/policy/sub/x.lua")
	want := "toml_load: reading file /opt/kumomta/etc/policy/missing.toml (read from " + etc + "/policy/missing.toml)"
	if !strings.Contains(out[3].(string), want) {
		t.Errorf("error %q, want it to contain %q", out[3], want)
	}
}
