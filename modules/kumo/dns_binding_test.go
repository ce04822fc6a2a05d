package kumo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

func dnsTestServer(t *testing.T) *dnstest.Server {
	srv := dnstest.New(t)
	srv.AddMX("gmail.test", 30, "alt3.gmail-smtp-in.l.google.com", 300)
	srv.AddMX("gmail.test", 5, "gmail-smtp-in.l.google.com", 300)
	srv.AddMX("gmail.test", 10, "alt1.gmail-smtp-in.l.google.com", 300)
	srv.AddMX("gmail.test", 40, "alt4.gmail-smtp-in.l.google.com", 300)
	srv.AddMX("gmail.test", 20, "alt2.gmail-smtp-in.l.google.com", 300)
	srv.NullMX("nullmx.test")
	srv.AddA("www.example.test", "192.0.2.1", 300)
	srv.AddAAAA("www.example.test", "2001:db8::1", 300)
	srv.ServFail("broken.test")
	return srv
}

func TestLuaLookupMX(t *testing.T) {
	srv := dnsTestServer(t)
	runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.dns.configure_resolver { name_servers = { '`+srv.Addr+`' } }

  local mx = kumo.dns.lookup_mx 'Gmail.TEST'
  assert(mx.domain_name == 'gmail.test.', mx.domain_name)
  assert(mx.site_name == '(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com', mx.site_name)
  local want = {
    'gmail-smtp-in.l.google.com.',
    'alt1.gmail-smtp-in.l.google.com.',
    'alt2.gmail-smtp-in.l.google.com.',
    'alt3.gmail-smtp-in.l.google.com.',
    'alt4.gmail-smtp-in.l.google.com.',
  }
  assert(#mx.hosts == #want)
  for i, h in ipairs(want) do
    assert(mx.hosts[i] == h, mx.hosts[i])
  end
  local prefs = {}
  for pref, hosts in pairs(mx.by_pref) do
    assert(type(pref) == 'number')
    assert(#hosts == 1)
    prefs[#prefs + 1] = pref
  end
  table.sort(prefs)
  assert(table.concat(prefs, ',') == '5,10,20,30,40', table.concat(prefs, ','))
  assert(mx.by_pref[10][1] == 'alt1.gmail-smtp-in.l.google.com.')
  assert(mx.is_domain_literal == false)
  assert(mx.is_secure == false)
  assert(mx.is_mx == true)
  assert(mx.mta_sts == 'None')
  assert(kumo.json_encode(mx.hosts):sub(1, 1) == '[')

  -- a fresh table each time: mutating one does not affect the next
  mx.site_name = 'changed'
  assert(kumo.dns.lookup_mx('gmail.test').site_name ~= 'changed')

  local null = kumo.dns.lookup_mx 'nullmx.test'
  assert(null.site_name == '' and null.hosts[1] == '.' and null.by_pref[0][1] == '.')

  local implicit = kumo.dns.lookup_mx 'www.example.test'
  assert(implicit.site_name == 'www.example.test' and implicit.is_mx == false)
  assert(implicit.by_pref[1][1] == 'www.example.test.')

  local port = kumo.dns.lookup_mx 'gmail.test:2525'
  assert(port.site_name == '(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com:2525', port.site_name)
  assert(port.hosts[1] == 'gmail-smtp-in.l.google.com.:2525')

  for input, addr in pairs { ['[127.0.0.1]'] = '127.0.0.1', ['[IPv6:::1]'] = '::1', ['[::1]'] = '::1' } do
    local lit = kumo.dns.lookup_mx(input)
    assert(lit.site_name == addr and lit.hosts[1] == addr and lit.by_pref[1][1] == addr, input)
    assert(lit.domain_name == input and lit.is_domain_literal == true and lit.is_mx == false)
  end

  local ok, err = pcall(kumo.dns.lookup_mx, 'nope.test')
  assert(not ok)
  assert(tostring(err):find('MX lookup for nope.test failed after [%d.]+[^:]*: NXDOMAIN$'), err)

  ok, err = pcall(kumo.dns.lookup_mx, 'broken.test')
  assert(not ok and tostring(err):find('answered SERVFAIL', 1, true), err)

  ok, err = pcall(kumo.dns.lookup_mx, 'gmail.test', 'woot')
  assert(not ok and tostring(err):find('resolver woot is not defined', 1, true), err)
end)
`)
	// Asked once without a port and once with one (separate cache
	// entries, as in KumoMTA); the rest came from the cache.
	if n := srv.Queries("gmail.test"); n != 2 {
		t.Fatalf("%d queries for gmail.test", n)
	}
}

func TestLuaLookupAddr(t *testing.T) {
	srv := dnsTestServer(t)
	runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.dns.configure_resolver { name_servers = { { socket_addr = '`+srv.Addr+`', protocol = 'udp_then_tcp' } } }
  local a = kumo.dns.lookup_addr 'www.example.test'
  assert(#a == 2 and a[1] == '192.0.2.1' and a[2] == '2001:db8::1', kumo.json_encode(a))
  a = kumo.dns.lookup_addr('www.example.test', nil, 'Ipv6Only')
  assert(#a == 1 and a[1] == '2001:db8::1')
  -- no such name: an empty list, as KumoMTA returns
  a = kumo.dns.lookup_addr 'missing.test'
  assert(#a == 0 and kumo.json_encode(a) == '[]', kumo.json_encode(a))
  assert(kumo.dns.lookup_addr('127.0.0.1')[1] == '127.0.0.1')
  assert(kumo.dns.lookup_addr('[IPv6:::1]')[1] == '::1')
  local ok, err = pcall(kumo.dns.lookup_addr, 'broken.test')
  assert(not ok and tostring(err):find('SERVFAIL', 1, true), err)
  ok, err = pcall(kumo.dns.lookup_addr, 'www.example.test', nil, 'Bogus')
  assert(not ok and tostring(err):find('unknown variant \96Bogus\96', 1, true), err)
end)
`)
}

func TestLuaDNSSettersAndHelpers(t *testing.T) {
	srv := dnsTestServer(t)
	srv.AddMX("slow.test", 10, "mx.slow.test", 300)
	srv.Delay("slow.test", 2*time.Second)
	resolver := srv.Resolver()
	rt, svc := newRuntimeWith(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.dns.set_mx_timeout '150ms'
  kumo.dns.set_mx_timeout(0.15)
  kumo.dns.set_mx_negative_cache_ttl '10 minutes'
  kumo.dns.set_mx_concurrency_limit(4)
  kumo.dns.set_mta_sts_enabled(false)

  local ok, err = pcall(kumo.dns.lookup_mx, 'slow.test')
  assert(not ok and tostring(err):find('failed after 1%d%d[%d.]*ms: deadline has elapsed') or tostring(err):find('failed after [2-9]%d%d[%d.]*ms: deadline has elapsed'), err)

  ok, err = pcall(kumo.dns.set_mx_timeout, 'soon')
  assert(not ok and tostring(err):find('set_mx_timeout', 1, true), err)
  ok, err = pcall(kumo.dns.set_mx_concurrency_limit, 0)
  assert(not ok and tostring(err):find('at least 1', 1, true), err)
  ok, err = pcall(kumo.dns.set_mx_concurrency_limit, 1.5)
  assert(not ok, 'fractional limit accepted')
  ok, err = pcall(kumo.dns.set_mta_sts_enabled, true)
  assert(not ok and tostring(err):find('MTA-STS is not supported', 1, true), err)

  assert(kumo.dns.reverse_ip '10.0.0.1' == '1.0.0.10')
  assert(kumo.dns.ptr_host '10.0.0.1' == '1.0.0.10.in-addr.arpa')
  assert(kumo.dns.ptr_host '::1' == '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa', kumo.dns.ptr_host '::1')
  ok, err = pcall(kumo.dns.reverse_ip, 'nope')
  assert(not ok and tostring(err):find('invalid IP address syntax', 1, true), err)
end)
`, kumo.Services{Resolver: resolver})
	if _, _, err := rt.Fire(context.Background(), "main"); err != nil {
		t.Fatal(err)
	}
	r := svc.Resolver
	if r != resolver {
		t.Fatal("Install replaced the resolver it was given")
	}
	if r.MXConcurrencyLimit() != 4 || r.MXNegativeCacheTTL() != 10*time.Minute || r.MXTimeout() != 150*time.Millisecond {
		t.Fatalf("settings: %d %v %v", r.MXConcurrencyLimit(), r.MXNegativeCacheTTL(), r.MXTimeout())
	}
}

func TestLuaConfigureResolver(t *testing.T) {
	srv := dnsTestServer(t)
	addr := srv.Addr
	rt, svc := newRuntimeWith(t, `
local kumo = require 'kumo'
local function fails(cfg, want)
  local ok, err = pcall(kumo.dns.configure_resolver, cfg)
  assert(not ok, 'accepted: ' .. want)
  assert(tostring(err):find(want, 1, true), tostring(err) .. ' lacks ' .. want)
end
kumo.on('main', function()
  fails({ nameservers = { '`+addr+`' } }, 'unknown field \96nameservers\96, expected one of \96domain\96, \96search\96, \96name_servers\96, \96options\96')
  fails({ name_servers = { '10.0.0.1' } }, "name_servers[1]: name server \09610.0.0.1\096: expected IP:PORT")
  fails({ name_servers = {} }, 'at least one name server is required')
  fails({ name_servers = { { socket_addr = '`+addr+`', protocol = 'quic' } } }, 'name_servers[1].protocol: unknown variant \96quic\96')
  fails({ name_servers = { { socket_addr = '`+addr+`', bogus = 1 } } }, 'name_servers[1]: unknown field \96bogus\96')
  fails({ name_servers = { '`+addr+`' }, options = { validate = true } }, 'DNSSEC is not validated')
  fails({ name_servers = { '`+addr+`' }, options = { use_hosts_file = 'Auto' } }, "use_hosts_file = 'Auto' is not supported")
  fails({ name_servers = { '`+addr+`' }, options = { frobnicate = true } }, 'options: unknown field \96frobnicate\96')
  fails({ name_servers = { '`+addr+`' }, options = { timeout = 'later' } }, 'options.timeout: invalid value: string "later", expected a duration')
  fails({ Test = {} }, 'Test: missing field \96zones\96')
  fails({ Unbound = { name_servers = { '`+addr+`' }, options = { validate = true } } }, 'DNSSEC validation is not supported by kumopolicy')
  fails({ Unbound = {} }, "kumopolicy runs Unbound's forwarding mode only")
  fails({ Aggregate = {} }, 'Aggregate: an Aggregate resolver needs at least one resolver')
  fails('Sideways', 'unknown variant \96Sideways\96')

  -- the accepted forms
  kumo.dns.configure_resolver {
    Hickory = {
      name_servers = { { socket_addr = '`+addr+`', protocol = 'tcp', trust_negative_responses = true } },
      domain = 'example.test',
      search = { 'example.test' },
      options = {
        timeout = '2s', attempts = 1, edns0 = true, ndots = 1, use_hosts_file = 'Never',
        positive_max_ttl = '1h', negative_min_ttl = 5, recursion_desired = true,
        server_ordering_strategy = 'UserProvidedOrder', cache_size = 32,
      },
    },
  }
  assert(kumo.dns.lookup_mx('gmail.test').is_mx)
end)
`, kumo.Services{})
	r := svc.Resolver
	if _, _, err := rt.Fire(context.Background(), "main"); err != nil {
		t.Fatal(err)
	}
	cfg := r.Config()
	if len(cfg.NameServers) != 1 || cfg.NameServers[0].Protocol != dns.TCP || cfg.Options.Timeout != 2*time.Second ||
		cfg.Options.Attempts != 1 || !cfg.Options.EDNS0 || cfg.Options.PositiveMaxTTL != time.Hour || cfg.Options.NegativeMinTTL != 5*time.Second {
		t.Fatalf("config %+v", cfg)
	}
	if srv.Queries("gmail.test") != 1 {
		t.Fatal("the configured server was not used")
	}
}

// The resolver is shared by every state of a runtime: configuration made
// in one state (and the cache) is seen by the others.
func TestLuaResolverIsPerRuntime(t *testing.T) {
	srv := dnsTestServer(t)
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('configure', function() kumo.dns.configure_resolver { name_servers = { '`+srv.Addr+`' } } end)
kumo.on('lookup', function() return kumo.dns.lookup_mx('gmail.test').site_name end)
`)
	ctx := context.Background()
	if _, _, err := rt.Fire(ctx, "configure"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 8)
	for range 8 {
		go func() {
			out, _, err := rt.Fire(ctx, "lookup")
			if err == nil && (len(out) != 1 || !strings.HasPrefix(out[0].(string), "(alt1")) {
				err = context.Canceled
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Queries("gmail.test"); n != 1 {
		t.Fatalf("%d queries", n)
	}
}

func TestLuaUnboundForwardingMode(t *testing.T) {
	srv := dnsTestServer(t)
	runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.dns.configure_resolver { name_servers = { '127.0.0.1:9' } }
  kumo.dns.configure_unbound_resolver { name_servers = { '`+srv.Addr+`' }, options = { validate = false } }
  assert(kumo.dns.lookup_addr('www.example.test')[1] == '192.0.2.1', 'no address through the Unbound form')
  local ok, err = pcall(kumo.dns.configure_unbound_resolver, { options = { validate = true } })
  assert(not ok and tostring(err):find("kumo.dns.configure_unbound_resolver: name_servers: kumopolicy runs Unbound's forwarding mode only", 1, true), err)
end)
`)
}
