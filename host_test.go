package kumopolicy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
	mdns "github.com/miekg/dns"
)

func newHost(t *testing.T, cfg kumopolicy.Config) *kumopolicy.Host {
	t.Helper()
	if cfg.Policy == "" {
		cfg.Policy = "test.lua"
	}
	if cfg.SystemRoots == nil {
		cfg.SystemRoots = []string{}
	}
	h, err := kumopolicy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// A setting that would make the host misbehave is an error from New, not
// a log line.
func TestNewRejectsBadSettings(t *testing.T) {
	for _, c := range []struct {
		cfg  kumopolicy.Config
		want string
	}{
		{kumopolicy.Config{Resolver: []string{"10.0.0.1"}}, `kumopolicy: invalid DNS resolver configuration: name server ` + "`10.0.0.1`" + `: expected IP:PORT`},
		{kumopolicy.Config{Resolver: []string{"127.0.0.1:53", "[::1]"}}, "invalid DNS resolver configuration: name server `[::1]`"},
		{kumopolicy.Config{LogFilter: "kumod=loud"}, `kumopolicy: invalid diagnostic log filter "kumod=loud": `},
	} {
		h, err := kumopolicy.New(c.cfg)
		if err == nil || h != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, %v; want an error containing %q", c.cfg, h, err, c.want)
		}
	}
}

const resolvePolicy = `
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function(domain, source, site)
  if domain == 'plain.example' then
    return { connection_limit = 5 }
  end
  if domain == 'number.example' then
    return 42
  end
  return kumo.make_egress_path { connection_limit = #site, enable_tls = source }
end)
`

func TestResolve(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddMX("mx.example", 10, "mx1.provider.example", 300)
	srv.AddMX("mx.example", 20, "mx2.provider.example", 300)
	srv.ServFail("broken.example")
	h := newHost(t, kumopolicy.Config{PolicySource: []byte(resolvePolicy), Resolver: []string{srv.Addr}})
	ctx := context.Background()

	// No site: it is computed from MX through the host's resolver.
	res, err := h.Resolve(ctx, "mx.example", "Required", "")
	if err != nil {
		t.Fatal(err)
	}
	const site = "(mx1|mx2).provider.example"
	if res.Site != site || res.SiteError != nil || res.Config.ConnectionLimit.Limit != uint64(len(site)) || res.Config.EnableTLS != "Required" {
		t.Errorf("computed site: %+v (limit %d)", res, res.Config.ConnectionLimit.Limit)
	}
	if res.Explanation != nil || res.PlainTable {
		t.Errorf("Resolve explained or flagged a plain table: %+v", res)
	}
	if v, _ := res.Serialized.Get("enable_tls"); v != "Required" || res.Serialized.Keys()[0] != "connection_limit" {
		t.Errorf("serialized: %v", res.Serialized.Keys())
	}
	// The policy's kumo.dns shares the resolver and its cache.
	if n := srv.QueriesOf("mx.example", mdns.TypeMX); n != 1 {
		t.Fatalf("%d MX queries", n)
	}
	if site, err := h.SiteOf(ctx, "mx.example"); err != nil || site != "(mx1|mx2).provider.example" || srv.QueriesOf("mx.example", mdns.TypeMX) != 1 {
		t.Errorf("SiteOf: %q %v, %d queries", site, err, srv.QueriesOf("mx.example", mdns.TypeMX))
	}

	// A failed MX lookup is reported in the result; the site is the domain.
	res, err = h.Resolve(ctx, "broken.example", "Opportunistic", "")
	if err != nil || res.Site != "broken.example" || res.SiteError == nil || !strings.Contains(res.SiteError.Error(), "broken.example") {
		t.Errorf("failed MX: %+v, %v", res, err)
	}

	// A given site is used as it is, without a lookup.
	res, err = h.Resolve(ctx, "given.example", "Opportunistic", "abc")
	if err != nil || res.Site != "abc" || res.Config.ConnectionLimit.Limit != 3 || srv.QueriesOf("given.example", mdns.TypeMX) != 0 {
		t.Errorf("given site: %+v, %v", res, err)
	}

	res, err = h.Resolve(ctx, "plain.example", "x", "s")
	if err != nil || !res.PlainTable || res.Config.ConnectionLimit.Limit != 5 {
		t.Errorf("plain table: %+v, %v", res, err)
	}
	if _, err := h.Resolve(ctx, "number.example", "x", "s"); err == nil || err.Error() != "get_egress_path_config returned a number, expected the result of kumo.make_egress_path" {
		t.Errorf("number: %v", err)
	}
	if _, err := h.Resolve(ctx, "x.example", "NotATLSMode", "s"); err == nil || !strings.Contains(err.Error(), "NotATLSMode") {
		t.Errorf("bad config: %v", err)
	}

	empty := newHost(t, kumopolicy.Config{Policy: "empty.lua", PolicySource: []byte("require 'kumo'")})
	if _, err := empty.Resolve(ctx, "x.example", "x", "s"); err == nil || err.Error() != "empty.lua registered no get_egress_path_config handler (or it returned nothing)" {
		t.Errorf("no handler: %v", err)
	}
}

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "shaping.toml")
	err := os.WriteFile(data, []byte(`
[default]
connection_limit = 10
additional_connection_limits = { "pool-a" = 4 }

["example.org"]
mx_rollup = false
connection_limit = 4
additional_connection_limits = { "pool-b" = 6 }

[example]
connection_limit = 1
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	h := newHost(t, kumopolicy.Config{
		Resolver: []string{dnstest.New(t).Addr}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function(domain, source, site)
  local data = kumo.shaping.load { '` + data + `' }
  local p = data:get_egress_path_config(domain, source, site)
  p.max_deliveries_per_connection = 7
  return kumo.make_egress_path(p)
end)
`)})
	ctx := context.Background()
	res, err := h.Explain(ctx, "example.org", "ip-1", "s")
	if err != nil {
		t.Fatal(err)
	}
	exp := res.Explanation
	if exp == nil || !exp.Shaped || exp.Query.Domain != "example.org" || exp.Query.Source != "ip-1" || exp.Query.Site != "s" {
		t.Fatalf("explanation %+v", exp)
	}
	if len(exp.Options) != res.Serialized.Len() {
		t.Fatalf("%d options explained, %d serialized", len(exp.Options), res.Serialized.Len())
	}
	byName := map[string]kumopolicy.OptionExplanation{}
	for i, o := range exp.Options {
		if o.Name != res.Serialized.Keys()[i] {
			t.Fatalf("option %d is %s, serialized has %s", i, o.Name, res.Serialized.Keys()[i])
		}
		byName[o.Name] = o
	}
	cl := byName["connection_limit"]
	if cl.From != kumopolicy.FromShaping || len(cl.Setters) != 2 ||
		cl.Setters[0].Layer.Kind != "default" || cl.Setters[0].Value != int64(10) ||
		cl.Setters[1].Layer.Kind != "domain" || cl.Setters[1].Layer.Name != "example.org" || cl.Setters[1].Value != int64(4) ||
		cl.Setters[1].Setting.Origin.File != data || cl.Setters[1].Setting.Origin.Key != `"example.org"` {
		t.Errorf("connection_limit: %+v", cl)
	}
	if o := byName["max_deliveries_per_connection"]; o.From != kumopolicy.FromLua {
		t.Errorf("max_deliveries_per_connection: %+v", o)
	}
	if o := byName["idle_timeout"]; o.From != kumopolicy.FromDefault {
		t.Errorf("idle_timeout: %+v", o)
	}
	if o := byName["refresh_strategy"]; o.From != kumopolicy.FromLuaEpoch {
		t.Errorf("refresh_strategy: %+v", o)
	}
	acl := byName["additional_connection_limits"]
	if acl.From != kumopolicy.PerEntry || len(acl.Entries) != 2 || acl.Entries[0].Key != "pool-a" || acl.Entries[1].Key != "pool-b" ||
		len(acl.Entries[1].Setters) != 1 || acl.Entries[1].Setters[0].Layer.Name != "example.org" {
		t.Errorf("additional_connection_limits: %+v", acl)
	}
	var single bool
	for _, p := range exp.Problems {
		if p.Level == shaping.Warn && strings.Contains(p.Message, "single DNS label") && p.File == data && p.Block == "example" {
			single = true
		}
	}
	if !single {
		t.Errorf("problems lack the single-label warning: %+v", exp.Problems)
	}

	// The same question without Explain records nothing.
	plainRes, err := h.Resolve(ctx, "example.org", "ip-1", "s")
	if err != nil || plainRes.Explanation != nil || plainRes.Config.ConnectionLimit != res.Config.ConnectionLimit {
		t.Errorf("Resolve: %+v, %v", plainRes, err)
	}

	// A policy without the shaping helper: every value is Lua's or a default.
	lua := newHost(t, kumopolicy.Config{PolicySource: []byte(resolvePolicy)})
	res, err = lua.Explain(ctx, "x.example", "Required", "s")
	if err != nil || res.Explanation.Shaped || len(res.Explanation.Problems) != 0 {
		t.Fatalf("lua policy: %+v, %v", res, err)
	}
	for _, o := range res.Explanation.Options {
		want := kumopolicy.FromDefault
		if o.Name == "connection_limit" || o.Name == "enable_tls" {
			want = kumopolicy.FromLua
		}
		if o.From != want {
			t.Errorf("%s: from %d, want %d", o.Name, o.From, want)
		}
	}
}

func TestRunMain(t *testing.T) {
	h := newHost(t, kumopolicy.Config{PolicySource: []byte(`
local kumo = require 'kumo'
local runs = 0
runs = runs + 1
kumo.on('main', function(a, b)
  assert(runs == 1, 'top level ran ' .. runs .. ' times')
  assert(a == '1' and b == 'two', 'args ' .. tostring(a) .. ' ' .. tostring(b))
  if a == '1' and b == 'two' then error('main ran with ' .. a .. ' ' .. b) end
end)
`)})
	err := h.RunMain(context.Background(), "1", "two")
	var le *kumopolicy.LuaError
	if !errors.As(err, &le) || !strings.Contains(le.Message, "test.lua:8: main ran with 1 two") || le.Traceback == "" {
		t.Fatalf("RunMain: %v", err)
	}
	// No main handler is success.
	if err := newHost(t, kumopolicy.Config{PolicySource: []byte("assert(true)")}).RunMain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestValidate(t *testing.T) {
	src := []byte(`
local kumo = require 'kumo'
kumo.on('pre_init', function() end)
kumo.on('pre_init', function() end)
kumo.on('init', function()
  assert(_VALIDATING_CONFIG)
  kumo.start_esmtp_listener { listen = '0.0.0.0:25' }
end)
kumo.on('validate_config', function() if FAIL then kumo.validation_failed() end end)
`)
	ctx := context.Background()
	h := newHost(t, kumopolicy.Config{PolicySource: src, Validating: true})
	v, err := h.Validate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Handlers) != 3 || v.Handlers[0] != 2 || v.Handlers[1] != 1 || v.Handlers[2] != 1 || v.Failed {
		t.Errorf("validation %+v", v)
	}
	if len(v.Configured) != 1 || v.Configured[0].Func != "start_esmtp_listener" || v.Configured[0].Disposition != kumod.SkippedInValidate {
		t.Errorf("configured %+v", v.Configured)
	}
	if recs := h.Services().Recorder.Records(); len(recs) != 1 {
		t.Errorf("recorder %+v", recs)
	}

	failing := newHost(t, kumopolicy.Config{PolicySource: append([]byte("FAIL = true\n"), src...), Validating: true})
	if v, err := failing.Validate(ctx); err != nil || !v.Failed {
		t.Errorf("validation_failed: %+v, %v", v, err)
	}
	raising := newHost(t, kumopolicy.Config{PolicySource: []byte("require('kumo').on('init', function() error('init broke') end)"), Validating: true})
	if _, err := raising.Validate(ctx); err == nil || !strings.HasPrefix(err.Error(), "init: ") || !strings.Contains(err.Error(), "init broke") {
		t.Errorf("raising init: %v", err)
	}
	if _, err := newHost(t, kumopolicy.Config{PolicySource: src}).Validate(ctx); err == nil || !strings.Contains(err.Error(), "Config.Validating") {
		t.Errorf("not validating: %v", err)
	}
}

// Validate-shaping's environment reads files through ShareDir and has no
// stand-ins; StandInFor names the stand-in policies get.
func TestCheckShapingEnvAndStandIns(t *testing.T) {
	cfg := kumopolicy.Config{ShareDir: t.TempDir(), Resolver: []string{dnstest.New(t).Addr}}
	env, resolver, err := kumopolicy.CheckShapingEnv(cfg)
	if err != nil || resolver == nil {
		t.Fatal(err)
	}
	installed := "/opt/kumomta/share/policy-extras/shaping.toml"
	if env.Fallback != nil || env.MapPath(installed) != cfg.MapInstallPath(installed) || env.DNS == nil {
		t.Errorf("env: fallback %v, map %q", env.Fallback != nil, env.MapPath(installed))
	}
	name, ok := cfg.StandInFor(cfg.MapInstallPath(installed))
	if !ok || !strings.Contains(name, "[embedded default]") || !strings.Contains(name, installed) {
		t.Errorf("StandInFor = %q, %v", name, ok)
	}
	if _, ok := cfg.StandInFor(installed); ok {
		t.Error("the unmapped path has a stand-in although ShareDir moves it")
	}
	if _, _, err := kumopolicy.CheckShapingEnv(kumopolicy.Config{Resolver: []string{"nope"}}); err == nil {
		t.Error("bad resolver accepted")
	}
}
