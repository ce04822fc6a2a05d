package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	mdns "github.com/miekg/dns"
)

func writePolicy(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.lua")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTopLevelUsage(t *testing.T) {
	if code, _, errs := runCLI(); code != exitUsage || !strings.Contains(errs, "Commands:") {
		t.Fatalf("no args: %d %q", code, errs)
	}
	if code, _, errs := runCLI("frobnicate"); code != exitUsage || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Fatalf("unknown: %d %q", code, errs)
	}
	if code, out, _ := runCLI("--help"); code != exitOK || !strings.Contains(out, "script") {
		t.Fatalf("--help: %d %q", code, out)
	}
	if code, out, _ := runCLI("version"); code != exitOK || !strings.HasPrefix(out, "kumopolicy ") {
		t.Fatalf("version: %d %q", code, out)
	}
	for _, cmd := range []string{"script", "validate", "version"} {
		if code, _, errs := runCLI(cmd, "--help"); code != exitOK || !strings.Contains(errs, "Usage: kumopolicy "+cmd) {
			t.Errorf("%s --help: %d %q", cmd, code, errs)
		}
	}
}

func TestScriptPassesArgsAsStrings(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	p := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('main', function(...)
  local parts = {}
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    parts[#parts + 1] = type(v) .. ':' .. v
  end
  local f = assert(io.open('`+out+`', 'w'))
  f:write(table.concat(parts, ' '))
  f:close()
end)
`)
	code, _, errs := runCLI("script", p, "a", "42", "")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got, _ := os.ReadFile(out)
	if string(got) != "string:a string:42 string:" {
		t.Fatalf("main saw %q", got)
	}
}

func TestScriptLuaErrorExits1WithPosition(t *testing.T) {
	p := writePolicy(t, "local kumo = require 'kumo'\nkumo.on('main', function()\n  error('bad thing')\nend)\n")
	code, _, errs := runCLI("script", p)
	if code != exitFailure || !strings.Contains(errs, p+":3: bad thing") || !strings.Contains(errs, "stack traceback") {
		t.Fatalf("exit %d: %q", code, errs)
	}
	// The handler's frame is labelled as Lua 5.4 labels a function called
	// by the host; it is not the main chunk.
	if !strings.Contains(errs, "\t"+p+":3: in function <"+p+":2>\n") || strings.Contains(errs, "main chunk") {
		t.Fatalf("handler frame mislabelled:\n%s", errs)
	}
}

// kumod --script runs the file's top level and succeeds when nothing
// registered main, so KumoMTA's per-module test files (top-level asserts)
// run as they are; the top level runs once per invocation.
func TestScriptWithoutMainRunsTopLevelOnce(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	src := `local f = assert(io.open('` + out + `', 'a'))
f:write('top\n')
f:close()
assert(1 + 1 == 2, 'arithmetic')
`
	noMain := writePolicy(t, src)
	if code, _, errs := runCLI("script", noMain, "ignored-arg"); code != exitOK {
		t.Fatalf("script without main: exit %d: %s", code, errs)
	}
	if got, _ := os.ReadFile(out); string(got) != "top\n" {
		t.Fatalf("top level ran %q, want exactly once", got)
	}

	os.Remove(out)
	withMain := writePolicy(t, src+`require('kumo').on('main', function()
  local f = assert(io.open('`+out+`', 'a'))
  f:write('main\n')
  f:close()
end)
`)
	if code, _, errs := runCLI("script", withMain); code != exitOK {
		t.Fatalf("script with main: exit %d: %s", code, errs)
	}
	if got, _ := os.ReadFile(out); string(got) != "top\nmain\n" {
		t.Fatalf("ran %q, want the top level once, then main", got)
	}
}

func TestScriptFailingTopLevelAssertExits1(t *testing.T) {
	p := writePolicy(t, "local x = 1\nassert(x == 2, 'x should be 2')\nrequire('kumo').on('main', function() end)\n")
	code, _, errs := runCLI("script", p)
	if code != exitFailure || !strings.Contains(errs, "x should be 2") || !strings.Contains(errs, "\t"+p+":2: in main chunk\n") {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
}

func TestScriptErrors(t *testing.T) {
	noMain := writePolicy(t, "local kumo = require 'kumo'\n")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"script"}, exitUsage, "missing FILE"},
		{[]string{"script", filepath.Join(t.TempDir(), "nope.lua")}, exitFailure, "no such file"},
		{[]string{"script", "--log-level", "loud", noMain}, exitUsage, "invalid --log-level"},
		{[]string{"script", "--bogus", noMain}, exitUsage, "flag provided but not defined"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

func TestScriptTimeout(t *testing.T) {
	p := writePolicy(t, "require('kumo').on('main', function() while true do end end)")
	code, _, errs := runCLI("script", "--timeout", "50ms", p)
	if code != exitFailure || !strings.Contains(errs, "event 'main' handler did not finish within 50ms; it was cancelled") {
		t.Fatalf("exit %d: %q", code, errs)
	}
}

// runCLIWatched is runCLI that fails the test instead of hanging when the
// command does not return (a loop --timeout failed to stop).
func runCLIWatched(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := runCLI(args...)
		done <- result{code, out, errs}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.err
	case <-time.After(20 * time.Second):
		t.Fatalf("%v did not return: --timeout did not stop the loop", args)
		return 0, "", ""
	}
}

// --timeout also bounds the file's top level and the modules it requires,
// and the error says which ran out.
func TestScriptTimeoutStopsTopLevelAndRequiredModule(t *testing.T) {
	p := writePolicy(t, "local n = 0\nwhile true do n = n + 1 end\n")
	code, _, errs := runCLIWatched(t, "script", "--timeout", "50ms", p)
	if code != exitFailure || !strings.Contains(errs, "loading "+p+": top-level chunk did not finish within 50ms") {
		t.Fatalf("top-level loop: exit %d: %q", code, errs)
	}

	root := t.TempDir()
	spin := writeFile(t, root, "spin.lua", "local n = 0\nwhile true do n = n + 1 end\n")
	p = writePolicy(t, "require 'spin'\n")
	code, _, errs = runCLIWatched(t, "validate", "--search-root", root, "--timeout", "50ms", "--policy", p)
	if code != exitFailure || !strings.Contains(errs, "loading "+p+": require 'spin' ("+spin+") did not finish within 50ms") {
		t.Fatalf("loop in module: exit %d: %q", code, errs)
	}
}

func TestTimeoutFlagValues(t *testing.T) {
	p := writePolicy(t, "require('kumo').on('main', function() end)\n")
	for _, cmd := range [][]string{{"script"}, {"validate", "--policy"}, {"resolve", "--site", "x", "--policy"}} {
		for _, c := range []struct{ flag, want string }{
			{"--timeout=-1s", `invalid value "-1s" for flag -timeout: a timeout cannot be negative`},
			{"--timeout=-2", `invalid value "-2" for flag -timeout: a timeout cannot be negative`},
			{"--timeout=5", `invalid value "5" for flag -timeout: a duration needs a unit, e.g. 5s`},
			{"--timeout=soon", `invalid value "soon" for flag -timeout: not a duration`},
		} {
			args := append([]string{cmd[0], c.flag}, cmd[1:]...)
			args = append(args, p)
			if cmd[0] == "resolve" {
				args = append(args, "x.org")
			}
			code, _, errs := runCLI(args...)
			if code != exitUsage || !strings.Contains(errs, c.want) {
				t.Errorf("%v: exit %d, %q; want exit 2 and %q", args, code, errs, c.want)
			}
		}
	}
	if code, _, errs := runCLI("script", "--timeout", "0", p); code != exitOK {
		t.Errorf("--timeout 0 (no limit) refused: %d %s", code, errs)
	}
}

func TestScriptSearchRoot(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "policy-extras"), 0o755)
	os.WriteFile(filepath.Join(root, "policy-extras", "policy_utils.lua"), []byte("return { marker = 'from search root' }"), 0o644)
	p := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('main', function() assert(require('policy-extras.policy_utils').marker == 'from search root') end)
`)
	if code, _, errs := runCLI("script", "--search-root", root, p); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// Without the root, the embedded helper is used.
	if code, _, _ := runCLI("script", p); code != exitFailure {
		t.Fatal("embedded policy_utils unexpectedly has the marker")
	}
}

func TestValidate(t *testing.T) {
	good := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('pre_init', function() end)
kumo.on('init', function()
  assert(_VALIDATING_CONFIG == true)
  kumo.spawn_task { event_name = 'never', args = {} }
end)
kumo.on('never', function() error('spawned during validate') end)
kumo.on('validate_config', function() print('checked') end)
`)
	code, out, errs := runCLI("validate", "--policy", good)
	if code != exitOK || !strings.Contains(out, "OK: "+good+" (handlers: pre_init 1, init 1, validate_config 1)") {
		t.Fatalf("good policy: exit %d, out %q, err %q", code, out, errs)
	}

	failing := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('validate_config', function() kumo.validation_failed() end)
`)
	code, _, errs = runCLI("validate", "--policy", failing)
	if code != exitFailure || !strings.Contains(errs, "validation failed") {
		t.Fatalf("failing policy: exit %d, %q", code, errs)
	}

	raising := writePolicy(t, "local kumo = require 'kumo'\nkumo.on('init', function() error('init broke') end)\n")
	code, _, errs = runCLI("validate", "--policy", raising)
	if code != exitFailure || !strings.Contains(errs, "init: "+raising+":2: init broke") {
		t.Fatalf("raising policy: exit %d, %q", code, errs)
	}

	code, _, errs = runCLI("validate", "--policy", filepath.Join(t.TempDir(), "missing.lua"))
	if code != exitFailure || !strings.Contains(errs, "no such file") {
		t.Fatalf("missing policy: exit %d, %q", code, errs)
	}
	if code, _, _ := runCLI("validate", "extra-arg"); code != exitUsage {
		t.Fatalf("stray argument accepted: %d", code)
	}
}

func TestValidateEmbeddedDefault(t *testing.T) {
	// The default shaping data has mx_rollup domains: their MX lookups go
	// to a loopback server that knows none of them.
	code, out, errs := runCLI("validate", "--resolver", dnstest.New(t).Addr)
	if code != exitOK || !strings.Contains(out, "OK: "+kumopolicy.EmbeddedPolicyName) || !strings.Contains(errs, "validating the embedded default policy") {
		t.Fatalf("exit %d, out %q, err %q", code, out, errs)
	}
	// TestMain's stand-in for /opt/kumomta/share is empty, so the embedded
	// default shaping data is used, and named as such, not as KumoMTA's file.
	name := kumo.EmbeddedDataName(kumoDefaultShaping)
	if !strings.Contains(errs, "shaping from "+name+"\n") {
		t.Errorf("the embedded default shaping data is not named %q:\n%s", name, errs)
	}
}

func TestValidateListsConfiguration(t *testing.T) {
	p := writePolicy(t, `local kumo = require 'kumo'
kumo.on('init', function()
  kumo.configure_accounting_db_path '/tmp/acct.db'
  kumo.start_esmtp_listener { listen = '0.0.0.0:25' }
  kumo.start_http_listener { listen = '127.0.0.1:8000', use_tls = true }
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data', kind = 'RocksDB' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta' }
  kumo.configure_log_hook { name = 'tsa' }
  kumo.configure_redis_throttles { node = 'redis://:secret@redis/' }
end)
`)
	code, out, errs := runCLI("validate", "--policy", p)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "OK: " + p + " (handlers: pre_init 0, init 1, validate_config 0)\n" +
		"Configured (recorded only; kumopolicy binds, opens, creates and connects nothing):\n" +
		"  accounting db: /tmp/acct.db (policy.lua:3)\n" +
		"  esmtp listener 0.0.0.0:25 (policy.lua:4) [kumod: skipped in validate]\n" +
		"  http listener 127.0.0.1:8000 (tls) (policy.lua:5) [kumod: skipped in validate]\n" +
		"  spool data: /var/spool/kumomta/data (RocksDB) (policy.lua:6) [kumod: skipped in validate]\n" +
		"  local logs: /var/log/kumomta (policy.lua:7) [kumod: would create the log directory]\n" +
		"  log hook \"tsa\" (policy.lua:8)\n" +
		"  redis throttles: redis://:xxxxx@redis/ (policy.lua:9) [kumod: would connect]\n"
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}

	// A policy that configures nothing prints only the OK line; a bad
	// parameter table fails validation.
	empty := writePolicy(t, "require('kumo').on('init', function() end)\n")
	if code, out, _ := runCLI("validate", "--policy", empty); code != exitOK || strings.Contains(out, "Configured") {
		t.Fatalf("empty policy: exit %d, %q", code, out)
	}
	bad := writePolicy(t, "local kumo = require 'kumo'\nkumo.on('init', function() kumo.define_spool { name = 'data' } end)\n")
	code, _, errs = runCLI("validate", "--policy", bad)
	if code != exitFailure || !strings.Contains(errs, "deserialize error: missing field `path`") {
		t.Fatalf("bad policy: exit %d, %q", code, errs)
	}
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The four problems a new user most often makes, each reported with its
// file and block.
func TestValidateShapingReportsProblemsWithFileAndBlock(t *testing.T) {
	dir := t.TempDir()
	ns := dnstest.New(t).Addr
	runCLI := func(args ...string) (int, string, string) {
		if len(args) > 0 && args[0] == "validate-shaping" {
			args = append([]string{args[0], "--resolver", ns}, args[1:]...)
		}
		return runCLI(args...)
	}
	typo := writeFile(t, dir, "typo.toml", "[default]\nconection_limit = 10\n")
	code, _, errs := runCLI("validate-shaping", typo)
	if code != exitFailure || !strings.Contains(errs, "unknown field `conection_limit`, did you mean `connection_limit`?") || !strings.Contains(errs, typo+" [default]") {
		t.Errorf("typo: exit %d\n%s", code, errs)
	}

	unquoted := writeFile(t, dir, "unquoted.toml", "[example.com]\nconnection_limit = 5\n")
	code, out, errs := runCLI("validate-shaping", unquoted)
	if code != exitOK || !strings.Contains(errs, "WARNING: Entry for domain 'example' consists of a single DNS label") || !strings.Contains(errs, "  in "+unquoted+" [example]") || !strings.Contains(out, "INFO: approx memory used = ") || !strings.HasSuffix(errs, "OK\n") {
		t.Errorf("unquoted: exit %d\n%s%s", code, out, errs)
	}

	never := writeFile(t, dir, "never.toml", "[provider.\"kpn\"]\nmatch = [{MXSuffix = \".kpnmail.nl.\"}]\n")
	code, _, errs = runCLI("validate-shaping", never)
	if code != exitOK || !strings.Contains(errs, `provider 'kpn' match MXSuffix = ".kpnmail.nl." can never match`) || !strings.Contains(errs, never+" [provider.kpn]") {
		t.Errorf("never-match: exit %d\n%s", code, errs)
	}

	badRegex := writeFile(t, dir, "regex.toml", "[provider.\"p\"]\nmatch = [{MXSuffix = \".p.com\"}]\n[[provider.\"p\".automation]]\nregex = \"a(b\"\naction = \"Suspend\"\nduration = \"1h\"\n")
	code, _, errs = runCLI("validate-shaping", badRegex)
	if code != exitFailure || !strings.Contains(errs, "parsing toml from file "+badRegex+": provider.p: automation[0]: regex: invalid regex \"a(b\"") {
		t.Errorf("regex: exit %d\n%s", code, errs)
	}

	jsonFile := writeFile(t, dir, "lenient.json", "{\n // note\n \"default\": {\"connection_limit\": 2,},\n}\n")
	// kumod refuses such JSON, so it is an error unless lowered.
	code, _, errs = runCLI("validate-shaping", jsonFile)
	if code != exitFailure || !strings.Contains(errs, "ERROR: "+jsonFile+": the JSON has comments and trailing commas") || !strings.Contains(errs, "KumoMTA's shaping loader rejects this file") {
		t.Errorf("json leniency: exit %d\n%s", code, errs)
	}
	code, _, errs = runCLI("validate-shaping", "--lenient-json", "warn", jsonFile)
	if code != exitOK || !strings.Contains(errs, "WARNING: "+jsonFile+": the JSON has") {
		t.Errorf("json leniency lowered to warn: exit %d\n%s", code, errs)
	}
	code, _, errs = runCLI("validate-shaping", jsonFile, "--lenient-json=ignore")
	if code != exitOK || strings.Contains(errs, "the JSON has") {
		t.Errorf("json leniency ignored: exit %d\n%s", code, errs)
	}

	if code, _, _ := runCLI("validate-shaping"); code != exitUsage {
		t.Errorf("no files: exit %d", code)
	}
	if code, _, errs := runCLI("validate-shaping", "--null-mx", "loud", typo); code != exitUsage || !strings.Contains(errs, "Expected one of `Ignore`, `Warn` or `Error`, got `loud`") {
		t.Errorf("bad level: exit %d %s", code, errs)
	}
	// Flags after the files work too.
	if code, _, _ := runCLI("validate-shaping", never, "--provider-overlap", "error"); code != exitOK {
		t.Errorf("interspersed flags: exit %d", code)
	}
}

func TestResolveExplain(t *testing.T) {
	dir := t.TempDir()
	ns := dnstest.New(t).Addr
	runCLI := func(args ...string) (int, string, string) {
		return runCLI(append([]string{args[0], "--resolver", ns}, args[1:]...)...)
	}
	a := writeFile(t, dir, "a.toml", `
[default]
connection_limit = 10
max_message_rate = "100/hr"
["example.org"]
mx_rollup = false
connection_limit = 4
[provider."bigmail"]
match = [{DomainSuffix = "example.org"}]
provider_connection_limit = 20
enable_tls = "Required"
`)
	b := writeFile(t, dir, "b.toml", "[\"example.org\"]\nmx_rollup = false\n[\"example.org\".sources.\"ip-1\"]\nconnection_limit = 2\n")
	policy := writeFile(t, dir, "policy.lua", `
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation { no_default_files = true, extra_files = { '`+a+`', '`+b+`' } }
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`)
	code, out, errs := runCLI("resolve", "--policy", policy, "--source", "ip-1", "--site", "example.org", "--explain", "example.org")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"max_message_rate = \"100/h\"\n", // normalized in the config output
		"connection_limit = {\"limit\":2,\"force_local\":false}\n    set by domain source example.org/ip-1 in ",
		"overrode 10 from default in " + a + " [default]; 4 from domain example.org in " + a + " [\"example.org\"]",
		"enable_tls = \"Required\"\n    set by provider bigmail in " + a + " [provider.bigmail]",
		"max_message_rate = \"100/h\"\n    set by default in " + a + " [default]: \"100/hr\"",
		"idle_timeout = \"5s\"\n    built-in default",
		"refresh_strategy = \"Epoch\"\n    set by the policy's Lua code",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q\n%s", want, out)
		}
	}

	code, out, _ = runCLI("resolve", "--policy", policy, "--site", "example.org", "--format", "json", "example.org")
	if code != exitOK || !strings.Contains(out, `"provider_name": "bigmail"`) || !strings.Contains(out, `"connection_limit": {`) {
		t.Errorf("json: exit %d\n%s", code, out)
	}
	noHandler := writeFile(t, dir, "empty.lua", "require 'kumo'\n")
	if code, _, errs := runCLI("resolve", "--policy", noHandler, "--site", "x", "x.org"); code != exitFailure || !strings.Contains(errs, "registered no get_egress_path_config handler") {
		t.Errorf("no handler: exit %d %s", code, errs)
	}
	if code, _, _ := runCLI("resolve", "--site", "x"); code != exitUsage {
		t.Errorf("no domain: exit %d", code)
	}
	if code, _, _ := runCLI("resolve", "--format", "yaml", "x.org"); code != exitUsage {
		t.Errorf("bad format: exit %d", code)
	}
}

func TestResolveExplainReportsShapingProblems(t *testing.T) {
	dir := t.TempDir()
	ns := dnstest.New(t).Addr
	data := writeFile(t, dir, "probs.toml", "[default]\nconnection_limit = 10\n[example.com]\nconnection_limit = 5\n[provider.\"kpn\"]\nmatch = [{MXSuffix = \".kpnmail.nl.\"}]\n")
	policy := writeFile(t, dir, "policy.lua", `
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation { no_default_files = true, extra_files = { '`+data+`' } }
kumo.on('get_egress_path_config', shaper.get_egress_path_config)
`)
	code, out, errs := runCLI("resolve", "--resolver", ns, "--log-level", "error", "--policy", policy, "--site", "x", "--explain", "x.org")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"#   WARNING: Entry for domain 'example' consists of a single DNS label",
		"(in " + data + " [example])",
		"#   WARNING: provider 'kpn' match MXSuffix = \".kpnmail.nl.\" can never match",
		"(in " + data + " [provider.kpn])",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	// A typo is a hard error that names the file and block.
	os.WriteFile(data, []byte("[default]\nconection_limit = 10\n"), 0o644)
	code, _, errs = runCLI("resolve", "--resolver", ns, "--policy", policy, "--site", "x", "--explain", "x.org")
	if code != exitFailure || !strings.Contains(errs, "unknown field `conection_limit`") || !strings.Contains(errs, "(defined in "+data+" [default])") {
		t.Errorf("typo: exit %d\n%s", code, errs)
	}
}

// resolve looks the domain's MX up before firing get_egress_path_config;
// that time is not the handler's, so a slow DNS answer does not use up
// --timeout.
func TestResolveTimeoutExcludesDNSLookup(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddMX("slow.example", 10, "mx.slow.example", 300)
	srv.AddA("mx.slow.example", "192.0.2.1", 300)
	srv.Delay("slow.example", 600*time.Millisecond)
	p := writePolicy(t, `local kumo = require 'kumo'
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { connection_limit = 7 }
end)
`)
	code, out, errs := runCLI("resolve", "--resolver", srv.Addr, "--timeout", "300ms", "--policy", p, "slow.example")
	if code != exitOK || !strings.Contains(out, "limit = 7\n") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if srv.QueriesOf("slow.example", mdns.TypeMX) == 0 {
		t.Fatal("resolve did not look the MX up")
	}
}
