//go:build linux

package kumo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
)

func TestFSMetadataForPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(file, []byte("hello"), 0o444); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := os.Chtimes(file, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("data.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	rt, _ := newRuntimeWith(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local f = kumo.fs.metadata_for_path '/opt/kumomta/etc/link'
  local l = kumo.fs.symlink_metadata_for_path '/opt/kumomta/etc/link'
  local d = kumo.fs.metadata_for_path '/opt/kumomta/etc'
  return f.path, f.is_file, f.is_dir, f.is_symlink, f.len, f.readonly, f.size, f.mode, f.ino, f.mtime.rfc3339,
    l.is_file, l.is_symlink, l.len, l.readonly, l.ino ~= f.ino,
    d.is_dir, d.is_file, d.readonly
end)
`, kumo.Services{Paths: paths.New([2]string{"/opt/kumomta/etc", dir})})
	out, _, err := rt.Fire(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(file, &st); err != nil {
		t.Fatal(err)
	}
	wantValues(t, out, "/opt/kumomta/etc/link", true, false, false, int64(5), true, int64(5),
		int64(st.Mode), int64(st.Ino), "2024-05-06T07:08:09+00:00",
		false, true, int64(len("data.txt")), false, true,
		true, false, false)
}

func TestFSMetadataErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`kumo.fs.metadata_for_path '/no/such/file'`, "kumo.fs.metadata_for_path /no/such/file: No such file or directory (os error 2)"},
		{`kumo.fs.symlink_metadata_for_path '/no/such/file'`, "kumo.fs.symlink_metadata_for_path /no/such/file: No such file or directory"},
		{`kumo.fs.metadata_for_path()`, "string expected"},
	} {
		if msg := runLuaErr(t, c.src); !strings.Contains(msg, c.want) {
			t.Errorf("%s: %s", c.src, msg)
		}
	}
}
