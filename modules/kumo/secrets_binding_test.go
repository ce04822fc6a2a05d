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

func TestSecretsLoadSources(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), []byte("from-file\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The policy names the file under /opt/kumomta/etc; MapPath serves it
	// from dir, as --etc-dir does.
	rt, _ := newRuntimeWith(t, `
local kumo = require 'kumo'
kumo.on('get-secret', function(a, b) return 'ev-' .. a .. '-' .. b end)
kumo.on('main', function()
  return kumo.secrets.load '/opt/kumomta/etc/key.pem',
    kumo.secrets.load { key_data = 'inline' },
    kumo.secrets.load { key_data = { 104, 105 } },
    kumo.secrets.load { event_name = 'get-secret', event_args = { 'x', 2 } }
end)
`, kumo.Services{Paths: paths.New([2]string{"/opt/kumomta/etc", dir})})
	out, _, err := rt.Fire(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	wantValues(t, out, "from-file\x00", "inline", "hi", "ev-x-2")
}

func TestSecretsLoadErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`kumo.secrets.load '/never/exists'`, "KeySource failed to load data from file `/never/exists`: No such file or directory (os error 2)"},
		{`kumo.secrets.load { vault_mount = 'secret', vault_path = 'dkim/example.com' }`, "not supported by kumopolicy"},
		{`kumo.secrets.load { event_name = 'nobody', event_args = {} }`, "no handler is registered"},
		{`kumo.secrets.load { event_name = 'num', event_args = {} }`, "the handler returned integer `1`, expected a string"},
		{`kumo.secrets.load(42)`, "KeySource"},
	} {
		rt := newRuntime(t, "local kumo = require 'kumo'\nkumo.on('num', function() return 1 end)\nkumo.on('main', function() "+c.src+" end)")
		_, _, err := rt.Fire(context.Background(), "main")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.src, err, c.want)
		}
	}
}
