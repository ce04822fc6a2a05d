package kumo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo"
)

// define_resolver, the lookups' resolver name, lookup_ptr, lookup_txt,
// rbl_lookup and configure_test_resolver, with in-memory zones only.
func TestLuaNamedAndTestResolvers(t *testing.T) {
	srv := dnsTestServer(t)
	srv.AddMX("outside.test.", 10, "mx.outside.test.", 300)
	rt, svc := newRuntimeWith(t, `
local kumo = require 'kumo'
local function same(a, b)
  return kumo.serde.json_encode(a) == kumo.serde.json_encode(b)
end
kumo.on('main', function()
  local ok, err = pcall(kumo.dns.lookup_ptr, '10.0.0.1', 'bl')
  assert(not ok and tostring(err):find('resolver bl is not defined', 1, true), err)

  kumo.dns.define_resolver('bl', {
    Test = {
      zones = {
        [[
$ORIGIN bl.test.
2.0.0.127 600 A 127.0.0.2
2.0.0.127 600 TXT "listed: see " "https://bl.test/"
]],
        { zone = "$ORIGIN 0.0.10.in-addr.arpa.\n1 30 IN PTR one.test.\n", secure = true },
      },
      servfail = { '3.0.0.127.bl.test' },
    },
  })
  assert(same(kumo.dns.lookup_ptr('10.0.0.1', 'bl'), { 'one.test.' }))
  assert(#kumo.dns.lookup_ptr('10.0.0.9', 'bl') == 0)
  local ip, reason = kumo.dns.rbl_lookup('[127.0.0.2]:25', 'bl.test', 'bl')
  assert(ip == '127.0.0.2' and reason == 'listed: see https://bl.test/', tostring(ip) .. ' ' .. tostring(reason))
  ip, reason = kumo.dns.rbl_lookup('127.0.0.4', 'bl.test', 'bl')
  assert(ip == nil and reason == nil)
  ok, err = pcall(kumo.dns.rbl_lookup, '127.0.0.3', 'bl.test', 'bl')
  assert(not ok and tostring(err):find('SERVFAIL', 1, true), err)
  ok, err = pcall(kumo.dns.rbl_lookup, 'mail.test', 'bl.test', 'bl')
  assert(not ok and tostring(err):find('invalid IP address \96mail.test\96', 1, true), err)
  assert(same(kumo.dns.lookup_txt('2.0.0.127.bl.test', 'bl'), { 'listed: see https://bl.test/' }))
  ok, err = pcall(kumo.dns.lookup_txt, 'nope.bl.test', 'bl')
  assert(not ok and tostring(err):find('NXDOMAIN', 1, true), err)

  -- The default resolver is still the name server.
  assert(kumo.dns.lookup_mx('outside.test').hosts[1] == 'mx.outside.test.')

  ok, err = pcall(kumo.dns.define_resolver, 'u', { Unbound = { options = { validate = true } } })
  assert(not ok and tostring(err):find("kumo.dns.define_resolver: Unbound.name_servers: kumopolicy runs Unbound's forwarding mode only", 1, true), err)
  ok, err = pcall(kumo.dns.configure_test_resolver, { [[$ORIGIN x.test.
a 30 IN A nope
]] })
  assert(not ok and tostring(err):find('kumo.dns.configure_test_resolver: zone 1: ', 1, true), err)

  -- configure_test_resolver replaces the default resolver's name servers.
  kumo.dns.configure_test_resolver {
    [[
$ORIGIN outside.test.
@ 30 IN MX 5 mx.zone.test.
]],
  }
  assert(kumo.dns.lookup_mx('outside.test').hosts[1] == 'mx.zone.test.')
  ok, err = pcall(kumo.dns.lookup_mx, 'elsewhere.test')
  assert(not ok and tostring(err):find('NXDOMAIN$'), err)
end)
`, kumo.Services{Resolver: srv.Resolver()})
	if _, _, err := rt.Fire(context.Background(), "main"); err != nil {
		t.Fatal(err)
	}
	if !svc.Resolver.Config().UsesZones() {
		t.Fatal("configure_test_resolver did not configure the default resolver")
	}
}

func TestLuaLoadResolvConf(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("# comment\nnameserver 192.0.2.1\nnameserver 2001:db8::53\nsearch example.com sub.example.com\noptions ndots:3 timeout:7 attempts:4 edns0 rotate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt, svc := newRuntimeWith(t, `
local kumo = require 'kumo'
kumo.on('main', function(path)
  local cfg = kumo.dns.load_resolv_conf(path)
  local got = kumo.serde.json_encode(cfg)
  local want = '{"name_servers":["192.0.2.1:53","[2001:db8::53]:53"],"options":{"attempts":4,"edns0":true,"ndots":3,"timeout":"7s"},"search":["example.com","sub.example.com"]}'
  assert(got == want, got)
  cfg.options.positive_min_ttl = '5min'
  kumo.dns.configure_resolver(cfg)
  local ok, err = pcall(kumo.dns.load_resolv_conf, path .. '.missing')
  assert(not ok and tostring(err):find('kumo.dns.load_resolv_conf: open ', 1, true), err)
end)
`, kumo.Services{})
	if _, _, err := rt.Fire(context.Background(), "main", conf); err != nil {
		t.Fatal(err)
	}
	cfg := svc.Resolver.Config()
	if len(cfg.NameServers) != 2 || cfg.Options.Attempts != 4 || !cfg.Options.EDNS0 {
		t.Fatalf("config %+v", cfg)
	}
}

func TestConfigureTestMTASTSChecksAndRecords(t *testing.T) {
	rt, svc := newKumodRuntime(t, true, `
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.dns.configure_test_mta_sts {
    ['Good.example.com'] = 'version: STSv1\nmode: enforce\nmx: mail.good.example.com\nmax_age: 86400\n',
  }
  local ok, err = pcall(kumo.dns.configure_test_mta_sts, { ['bad.example.com'] = 'version: STSv1\nmode: sometimes\n' })
  return tostring(err)
end)
`)
	if got := fire(t, rt, "main")[0].(string); !strings.Contains(got, `kumo.dns.configure_test_mta_sts: the policy for bad.example.com: line 2: mode must be enforce, testing or none, got "sometimes"`) {
		t.Errorf("bad policy: %s", got)
	}
	recs := svc.Recorder.Records()
	if len(recs) != 1 || recs[0].Func != "dns.configure_test_mta_sts" {
		t.Fatalf("records: %+v", recs)
	}
	got := recs[0].Config.Data()["good.example.com"].(map[string]any)
	if got["mode"] != "enforce" || got["max_age"] != int64(86400) {
		t.Errorf("recorded %v", got)
	}
}
