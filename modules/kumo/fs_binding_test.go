package kumo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
)

func TestFSGlobReadDirThroughMapping(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.toml", "sub/b.toml", "sub/c.json"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	clock := time.Unix(1_700_000_000, 0)
	globs := kumo.NewGlobCache(func() time.Time { return clock })
	rt, _ := newRuntimeWith(t, `
local kumo = require 'kumo'
kumo.on('main', function(rel)
  local g = kumo.fs.glob('/opt/kumomta/etc/**/*.toml', rel)
  local u = kumo.uncached_glob('/opt/kumomta/etc/**/*.toml', rel)
  local d = kumo.fs.read_dir '/opt/kumomta/etc/sub'
  local f = kumo.fs.open '/opt/kumomta/etc/sub/c.json'
  table.sort(d)
  return table.concat(g, ','), table.concat(u, ','), #d, f:read(3), f:read(), d[1], kumo.glob('/opt/kumomta/etc/*.toml')[1]
end)
`, kumo.Services{Globs: globs, Paths: paths.New([2]string{"/opt/kumomta/etc", dir})})
	fire := func() []any {
		t.Helper()
		out, _, err := rt.Fire(context.Background(), "main", dir)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	wantValues(t, fire(), "a.toml,sub/b.toml", "a.toml,sub/b.toml", int64(2), "sub", "/c.json", "/opt/kumomta/etc/sub/b.toml", "/opt/kumomta/etc/a.toml")
	// A new file shows in the cached glob only once the TTL has passed.
	os.WriteFile(filepath.Join(dir, "sub/new.toml"), nil, 0o644)
	wantValues(t, fire(), "a.toml,sub/b.toml", "a.toml,sub/b.toml,sub/new.toml", int64(3), "sub", "/c.json", "/opt/kumomta/etc/sub/b.toml", "/opt/kumomta/etc/a.toml")
	clock = clock.Add(61 * time.Second)
	wantValues(t, fire(), "a.toml,sub/b.toml,sub/new.toml", "a.toml,sub/b.toml,sub/new.toml", int64(3), "sub", "/c.json", "/opt/kumomta/etc/sub/b.toml", "/opt/kumomta/etc/a.toml")
}

func TestFSErrors(t *testing.T) {
	ro := filepath.Join(t.TempDir(), "ro.txt")
	os.WriteFile(ro, []byte("x"), 0o644)
	for _, c := range []struct{ src, want string }{
		{`kumo.fs.open('/no/such/file')`, "kumo.fs.open /no/such/file: No such file or directory (os error 2)"},
		{`kumo.fs.open('` + ro + `', 'rw')`, `invalid mode "rw"`},
		{`kumo.fs.open('` + ro + `'):write 'x'`, "was not opened for writing"},
		{`kumo.fs.open('` + ro + `'):seek 'bogus'`, `invalid whence "bogus"`},
		{`local f = kumo.fs.open('` + ro + `'); f:close(); f:read()`, "is closed"},
		{`kumo.fs.read_dir '/no/such/dir'`, "No such file or directory"},
		{`kumo.fs.glob '/tmp/[*'`, "invalid glob pattern"},
	} {
		rt := newRuntime(t, "local kumo = require 'kumo'\nkumo.on('main', function() "+c.src+" end)")
		_, _, err := rt.Fire(context.Background(), "main")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.src, err, c.want)
		}
	}
}
