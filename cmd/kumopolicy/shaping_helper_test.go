package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
)

// runCLIPrinting is runCLI that also returns what Lua's print wrote: it
// goes to the process's standard output, as in kumod.
func runCLIPrinting(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdout
	os.Stdout = f
	code, out, errs := runCLI(args...)
	os.Stdout = saved
	printed, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return code, string(printed) + out, errs
}

// validate runs the shaping helper's validate_config check: a strict load
// of the helper's files, printed under a header naming the files the way
// the loader names them.
func TestValidateShapingHelperReport(t *testing.T) {
	ns := dnstest.New(t).Addr
	dir := t.TempDir()
	share := filepath.Join(dir, "share")
	bundled := filepath.Join(share, "policy-extras", "shaping.toml")
	if err := os.MkdirAll(filepath.Dir(bundled), 0o755); err != nil {
		t.Fatal(err)
	}
	// A single-label domain: a warning, validation passes.
	writeFile(t, filepath.Dir(bundled), "shaping.toml", "[default]\nconnection_limit = 7\n[example]\nmx_rollup = false\nconnection_limit = 3\n")
	site := writeFile(t, dir, "site.toml", `
["literal.example"]
mx_rollup = false
["literal.example".sources."ip-9"]
connection_limit = 1
["example.com"]
mx_rollup = false
["example.com".sources."my source name"]
connection_limit = 1
`)
	policy := func(extra, more string) string {
		return writeFile(t, dir, "policy.lua", `
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
`+more+`
local shaper = shaping:setup_with_automation { extra_files = { `+extra+` } }
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`)
	}

	code, out, errs := runCLIPrinting(t, "validate", "--resolver", ns, "--share-dir", share, "--policy", policy("'"+site+"'", ""))
	want := "Issues found in the combined set of shaping files:\n" +
		" - " + bundled + "\n" +
		" - " + site + "\n" +
		"WARNING: Entry for domain 'example' consists of a single DNS label."
	if code != exitOK || !strings.Contains(out, want) {
		t.Fatalf("exit %d, out:\n%s\nwant:\n%s\nerr:\n%s", code, out, want, errs)
	}
	if strings.Contains(out, "ERROR") || strings.Contains(out, "Source '") {
		t.Errorf("unexpected problems:\n%s", out)
	}

	// Without the bundled file, the embedded stand-in is named; a missing
	// extra file is an error that fails validation.
	missing := filepath.Join(dir, "missing.toml")
	code, out, errs = runCLIPrinting(t, "validate", "--resolver", ns, "--policy", policy("'"+missing+"'", ""))
	want = "Issues found in the combined set of shaping files:\n" +
		" - " + kumo.EmbeddedDataName(kumoDefaultShaping) + "\n" +
		" - " + missing + "\n" +
		"ERROR: local shaping source " + missing + " error: loading data from file " + missing + ": No such file or directory (os error 2)\n"
	if code != exitFailure || !strings.Contains(out, want) || !strings.Contains(errs, "validation failed") {
		t.Fatalf("exit %d, out:\n%s\nwant:\n%s\nerr:\n%s", code, out, want, errs)
	}

	// With the sources helper set up, a source the shaping data uses but
	// the sources data lacks fails validation; KumoMTA's illustrative
	// 'my source name' for example.com does not.
	sourcesFile := writeFile(t, dir, "sources.toml", "[source.\"ip-1\"]\nsource_address = \"10.0.0.1\"\n")
	setup := "require('policy-extras.sources'):setup { '" + sourcesFile + "' }"
	code, out, errs = runCLIPrinting(t, "validate", "--resolver", ns, "--share-dir", share, "--policy", policy("'"+site+"'", setup))
	want = "Source 'ip-9' is not present in your sources helper data. Referenced by domain:literal.example\n"
	if code != exitFailure || !strings.Contains(out, want) || strings.Contains(out, "my source name") {
		t.Fatalf("exit %d, out:\n%s\nwant:\n%s\nerr:\n%s", code, out, want, errs)
	}

	// Nothing to report: no header.
	writeFile(t, filepath.Dir(bundled), "shaping.toml", "[default]\nconnection_limit = 7\n")
	clean := writeFile(t, dir, "clean.toml", "[\"literal.example\"]\nmx_rollup = false\nconnection_limit = 2\n")
	code, out, errs = runCLIPrinting(t, "validate", "--resolver", ns, "--share-dir", share, "--policy", policy("'"+clean+"'", ""))
	if code != exitOK || strings.Contains(out, "Issues found") {
		t.Fatalf("exit %d, out:\n%s\nerr:\n%s", code, out, errs)
	}
}

// The default policy logs the shaping files it uses by the names the
// loader gives them: a bundled file found under --share-dir is that file,
// not the embedded stand-in.
func TestDefaultPolicyNamesShareDirShaping(t *testing.T) {
	share, etc := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(share, "policy-extras"), 0o755); err != nil {
		t.Fatal(err)
	}
	bundled := writeFile(t, filepath.Join(share, "policy-extras"), "shaping.toml", "[default]\nconnection_limit = 7\n")
	code, _, errs := runCLIPrinting(t, "validate", "--resolver", dnstest.New(t).Addr, "--share-dir", share, "--etc-dir", etc)
	if code != exitOK || !strings.Contains(errs, "kumopolicy default policy: shaping from "+bundled+"\n") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
}
