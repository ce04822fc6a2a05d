package kumo_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
)

// newKumodRuntime is newRuntime with a choice of validate mode. It returns the runtime's services, whose Recorder the tests read.
func newKumodRuntime(t *testing.T, validating bool, src string) (*luart.Runtime, *kumo.Services) {
	t.Helper()
	rt := luart.New(luart.Options{PolicyFile: "test_policy.lua", PolicySource: []byte(src), SystemRoots: []string{}, Validating: validating})
	svc := kumo.Install(rt, kumo.Services{})
	t.Cleanup(func() { rt.Close() })
	return rt, svc
}

func fire(t *testing.T, rt *luart.Runtime, event string, args ...any) []any {
	t.Helper()
	out, handled, err := rt.Fire(context.Background(), event, args...)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	if !handled {
		t.Fatalf("no %s handler", event)
	}
	return out
}

const initPolicy = `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.configure_accounting_db_path '/tmp/acct.db'
  kumo.start_esmtp_listener { listen = '0.0.0.0:25', relay_hosts = { '127.0.0.1', '10.0.0.0/8' } }
  kumo.start_http_listener { listen = '127.0.0.1:8000', trusted_hosts = { '127.0.0.1', '::1' } }
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data', kind = 'RocksDB' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '10s' }
  kumo.configure_log_hook { name = 'tsa', per_record = { Reception = { enable = false } } }
  kumo.configure_redis_throttles { node = 'redis://redis.invalid/' }
  kumo.set_config_monitor_globs { '/opt/kumomta/etc/policy/*.lua' }
end)
`

func TestKumodCallsAreRecorded(t *testing.T) {
	type want struct {
		fn, summary, caller string
		disp                kumod.Disposition
	}
	for _, validating := range []bool{true, false} {
		t.Run(fmt.Sprintf("validating=%v", validating), func(t *testing.T) {
			rt, svc := newKumodRuntime(t, validating, initPolicy)
			fire(t, rt, "init")
			start, open := kumod.WouldBind, kumod.WouldOpen
			if validating {
				start, open = kumod.SkippedInValidate, kumod.SkippedInValidate
			}
			wants := []want{
				{"configure_accounting_db_path", "accounting db: /tmp/acct.db", "test_policy.lua:4", kumod.Recorded},
				{"start_esmtp_listener", "esmtp listener 0.0.0.0:25", "test_policy.lua:5", start},
				{"start_http_listener", "http listener 127.0.0.1:8000", "test_policy.lua:6", start},
				{"define_spool", "spool data: /var/spool/kumomta/data (RocksDB)", "test_policy.lua:7", open},
				{"define_spool", "spool meta: /var/spool/kumomta/meta (LocalDisk)", "test_policy.lua:8", open},
				{"configure_local_logs", "local logs: /var/log/kumomta", "test_policy.lua:9", kumod.WouldCreate},
				{"configure_log_hook", `log hook "tsa"`, "test_policy.lua:10", kumod.Recorded},
				{"configure_redis_throttles", "redis throttles: redis://redis.invalid/", "test_policy.lua:11", kumod.WouldConnect},
				{"set_config_monitor_globs", "config monitor globs: /opt/kumomta/etc/policy/*.lua", "test_policy.lua:12", kumod.Recorded},
			}
			recs := svc.Recorder.Records()
			if len(recs) != len(wants) {
				t.Fatalf("%d records, want %d: %+v", len(recs), len(wants), recs)
			}
			for i, w := range wants {
				r := recs[i]
				if r.Seq != i+1 || r.Func != w.fn || r.Summary() != w.summary || r.Caller != w.caller || r.Disposition != w.disp {
					t.Errorf("record %d: got %d %s %q %s %q, want %s %q %s %q", i, r.Seq, r.Func, r.Summary(), r.Caller, r.Disposition, w.fn, w.summary, w.caller, w.disp)
				}
			}
			esmtp := recs[1].Config.(*kumod.EsmtpListener)
			if strings.Join(esmtp.RelayHosts, ",") != "10.0.0.0/8,127.0.0.1" {
				t.Errorf("relay_hosts %q", esmtp.RelayHosts)
			}
			if logs := recs[5].Config.(*kumod.LocalLogs); logs.MaxSegmentDuration == nil || logs.MaxSegmentDuration.Seconds() != 10 {
				t.Errorf("max_segment_duration %v", logs.MaxSegmentDuration)
			}
			if got := svc.Recorder.MonitorGlobs(); len(got) != 1 || got[0] != "/opt/kumomta/etc/policy/*.lua" {
				t.Errorf("globs %q", got)
			}
		})
	}
}

func TestKumodErrorsInLua(t *testing.T) {
	rt, svc := newKumodRuntime(t, true, `
local kumo = require 'kumo'
local function err_of(f, arg)
  local ok, err = pcall(f, arg)
  assert(not ok, 'call succeeded')
  return tostring(err)
end
kumo.on('main', function()
  return {
    err_of(kumo.start_esmtp_listener, { listen = '0.0.0.0:25', bogus = 1 }),
    err_of(kumo.start_esmtp_listener, { listen = '0.0.0.0' }),
    err_of(kumo.start_http_listener, { trusted_hosts = { '10.0.0.1/8' } }),
    err_of(kumo.define_spool, { name = 'data' }),
    err_of(kumo.define_spool, { name = 'data', path = '/x', kind = 'Rocks' }),
    err_of(kumo.configure_local_logs, { log_dir = '/l', max_segment_duration = 'soon' }),
    err_of(kumo.configure_accounting_db_path, ''),
    err_of(kumo.configure_accounting_db_path, nil),
    err_of(kumo.configure_redis_throttles, { node = 'http://redis/' }),
    err_of(kumo.set_config_monitor_globs, { '/etc/{a,b' }),
    err_of(kumo.start_esmtp_listener, { listen = '0.0.0.0:25', banner = function() end }),
    err_of(kumo.make_listener_domain, { log_arf = 'yes' }),
  }
end)
`)
	out := fire(t, rt, "main")[0].([]any)
	wants := []string{
		"deserialize error: unknown field `bogus`, while processing {\"bogus\":1,\"listen\":\"0.0.0.0:25\"}",
		`kumo.start_esmtp_listener: invalid listen address "0.0.0.0": expected HOST:PORT`,
		"deserialize error: trusted_hosts: 10.0.0.1/8: 10.0.0.1/8 is not a valid CIDR: host part of address was not zero. Did you mean 10.0.0.0/8?, while processing",
		"deserialize error: missing field `path`, while processing {\"name\":\"data\"}",
		"deserialize error: kind: unknown variant `Rocks`, expected `LocalDisk` or `RocksDB`, while processing",
		`max_segment_duration: invalid value: string "soon", expected a duration`,
		"kumo.configure_accounting_db_path: the path must not be empty",
		"kumo.configure_accounting_db_path: invalid type: nil, expected a string",
		`invalid redis URL "http://redis/"`,
		`kumo.set_config_monitor_globs: invalid glob "/etc/{a,b": unclosed '{' at offset 5`,
		"kumo.start_esmtp_listener: banner: cannot convert a function value to data",
		`log_arf: invalid value: string "yes", expected a boolean value or one of 'Ignore', 'LogThenDrop' or 'LogThenRelay'`,
	}
	for i, w := range wants {
		if got := out[i].(string); !strings.Contains(got, w) {
			t.Errorf("error %d:\n got %q\nwant %q", i+1, got, w)
		}
	}
	if n := len(svc.Recorder.Records()); n != 0 {
		t.Errorf("rejected calls were recorded: %d", n)
	}
}

func TestKumodDuplicatesInLua(t *testing.T) {
	rt, _ := newKumodRuntime(t, false, `
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.configure_log_hook { name = 'h' }
  local ok1, e1 = pcall(kumo.configure_log_hook, { name = 'h' })
  local ok2, e2 = pcall(kumo.configure_log_disposition_hook, { name = 'h' })
  kumo.configure_redis_throttles { node = 'redis://r/' }
  local ok3, e3 = pcall(kumo.configure_redis_throttles, { node = 'redis://r/' })
  kumo.define_spool { name = 'data', path = '/s/data' }
  local ok4, e4 = pcall(kumo.define_spool, { name = 'meta', path = '/s/data' })
  kumo.start_esmtp_listener { listen = '0.0.0.0:2025' }
  local ok5, e5 = pcall(kumo.start_http_listener, { listen = '127.0.0.1:2025' })
  return ok1 or ok2 or ok3 or ok4 or ok5, tostring(e1), tostring(e2), tostring(e3), tostring(e4), tostring(e5)
end)
`)
	out := fire(t, rt, "main")
	if out[0] != false {
		t.Fatalf("a duplicate was accepted: %v", out)
	}
	for i, w := range []string{
		"A logging hook with name `h` has already been registered",
		"A logging hook with name `h` has already been registered",
		"redis already configured for throttles",
		"Opening spool meta: unable to lock pid file /s/data/lock",
		"listen on 127.0.0.1:2025: address already in use (esmtp listener 0.0.0.0:2025 already listens on 0.0.0.0:2025, at test_policy.lua:11)",
	} {
		if got := out[i+1].(string); !strings.Contains(got, w) {
			t.Errorf("error %d:\n got %q\nwant %q", i+1, got, w)
		}
	}
}

func TestMakeListenerDomainObject(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local d = kumo.make_listener_domain { relay_to = true, log_oob = true, relay_from = { '10.0.0.0/24', '10.0.0.7' } }
  local keys = {}
  for k, v in pairs(d) do keys[#keys + 1] = k .. '=' .. kumo.json_encode(v) end
  local ok, err = pcall(function() d.relay_to = false end)
  local again = kumo.make_listener_domain(d)
  return type(d), d.relay_to, d.log_oob, d.log_arf, d.ttl, d.relay_from[1], d.nope, #d,
    table.concat(keys, ' '), ok, tostring(err), kumo.json_encode(d), kumo.json_encode(again),
    tostring(d):match('^EsmtpDomain: ') ~= nil
end)
`)
	want := []any{
		"userdata", true, "LogThenRelay", "Ignore", "1m", "10.0.0.0/24", nil, int64(0),
		`log_oob="LogThenRelay" log_arf="Ignore" relay_to=true relay_from=["10.0.0.0/24"] ttl="1m"`,
		false, "", // error text checked below
		`{"log_arf":"Ignore","log_oob":"LogThenRelay","relay_from":["10.0.0.0/24"],"relay_to":true,"ttl":"1m"}`,
		`{"log_arf":"Ignore","log_oob":"LogThenRelay","relay_from":["10.0.0.0/24"],"relay_to":true,"ttl":"1m"}`,
		true,
	}
	if len(out) != len(want) {
		t.Fatalf("got %d results: %#v", len(out), out)
	}
	for i := range want {
		if i == 10 {
			if s, _ := out[i].(string); !strings.Contains(s, "EsmtpDomain is read-only") {
				t.Errorf("read-only error: %q", out[i])
			}
			continue
		}
		if out[i] != want[i] {
			t.Errorf("result %d: got %#v, want %#v", i+1, out[i], want[i])
		}
	}
}

// listener_domains.lua tells invalid values from unknown fields by the
// error text (is_listener_domain_option); both forms must come through.
func TestListenerDomainErrorsForTyping(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
local re = kumo.regex.compile 'deserialize error: (.*), while processing'
local function classify(name, value)
  local ok, err = pcall(kumo.make_listener_domain, { [name] = value })
  if ok then return 'ok' end
  local m = re:captures(tostring(err))[1]
  if tostring(m):find 'invalid' then return 'invalid: ' .. m end
  return 'unknown: ' .. m
end
kumo.on('main', function()
  return classify('relay_to', true), classify('log_arf', 'yes'), classify('relay_form', {}), classify('ttl', -1)
end)
`)
	want := []string{
		"ok",
		`invalid: log_arf: invalid value: string "yes", expected a boolean value or one of 'Ignore', 'LogThenDrop' or 'LogThenRelay'`,
		"unknown: unknown field `relay_form`, expected one of `log_oob`, `log_arf`, `relay_to`, `relay_from`, `ttl`",
		"unknown: ttl: duration must either be a string or a positive integer specifying the number of seconds. (error: out of range integral type conversion attempted)",
	}
	for i, w := range want {
		if out[i] != w {
			t.Errorf("%d: got %q\nwant %q", i, out[i], w)
		}
	}
}

func TestConfigMonitorGlobsFromLua(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"init.lua", "sub/shaping.toml", "sub/readme.md"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
	}
	out := runMain(t, fmt.Sprintf(`
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.set_config_monitor_globs { %q, %q }
  return kumo.eval_config_monitor_globs()
end)
`, dir+"/**/*.{lua,toml}", dir+"/init.lua"))
	got := fmt.Sprint(out[0])
	if want := fmt.Sprint([]any{dir + "/init.lua", dir + "/sub/shaping.toml"}); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestKumodBindsNothing starts listeners on a free loopback port outside
// validate mode, then takes that port itself: kumopolicy must not hold it.
func TestKumodBindsNothing(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	probe2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := probe2.Addr().String()
	probe2.Close()

	spool := filepath.Join(t.TempDir(), "spool")
	logs := filepath.Join(t.TempDir(), "logs")
	rt, svc := newKumodRuntime(t, false, fmt.Sprintf(`
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.start_esmtp_listener { listen = %q }
  kumo.start_http_listener { listen = %q }
  kumo.define_spool { name = 'data', path = %q, kind = 'RocksDB' }
  kumo.configure_local_logs { log_dir = %q }
  kumo.configure_redis_throttles { node = 'redis://127.0.0.1:1/' }
end)
`, addr, httpAddr, spool, logs))
	fire(t, rt, "init")
	for _, a := range []string{addr, httpAddr} {
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("port %s is held: %v", a, err)
		}
		l.Close()
	}
	for _, p := range []string{spool, logs} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s was created (%v)", p, err)
		}
	}
	if recs := svc.Recorder.Records(); len(recs) != 5 || recs[0].Disposition != kumod.WouldBind {
		t.Fatalf("records %+v", recs)
	}
}

func TestKumodRecorderSharedAcrossStates(t *testing.T) {
	rt, svc := newKumodRuntime(t, false, `
local kumo = require 'kumo'
kumo.on('record', function(i) kumo.configure_accounting_db_path('/db/' .. i) end)
`)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, _, err := rt.Fire(context.Background(), "record", i); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	recs := svc.Recorder.Records()
	if len(recs) != 16 {
		t.Fatalf("%d records", len(recs))
	}
	for i, r := range recs {
		if r.Seq != i+1 || r.Caller != "test_policy.lua:3" {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
}
