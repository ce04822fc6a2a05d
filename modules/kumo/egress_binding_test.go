package kumo_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
)

func TestMakeEgressPathReadBack(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local p = kumo.make_egress_path {
    connection_limit = 'local:10',
    max_message_rate = '100/min',
    idle_timeout = 90,
    additional_connection_limits = { shared = 5 },
  }
  local keys = {}
  for k in pairs(p) do table.insert(keys, k) end
  return p.connection_limit.limit, p.connection_limit.force_local, p.max_message_rate,
    p.idle_timeout, p.enable_tls, p.ehlo_domain, #p, keys[1], keys[2], #keys,
    p.additional_connection_limits.shared.limit, p.prohibited_hosts[3], type(p.nonexistent)
end)
`)
	want := []any{int64(10), true, "100/m", "1m 30s", "Opportunistic", nil, int64(0), "connection_limit", "additional_connection_limits", int64(44), int64(5), "::/127", "nil"}
	if len(out) != len(want) {
		t.Fatalf("got %#v", out)
	}
	for i := range want {
		if out[i] != want[i] {
			t.Errorf("result %d = %#v, want %#v", i+1, out[i], want[i])
		}
	}
}

func TestMakeEgressPathErrors(t *testing.T) {
	cases := []struct{ lua, want string }{
		{`{ bogus = 1 }`, "deserialize error: unknown field `bogus`, while processing {\"bogus\":1}"},
		{`{ idle_timout = '5s' }`, "deserialize error: unknown field `idle_timout`, did you mean `idle_timeout`?, while processing {\"idle_timout\":\"5s\"}"},
		{`{ max_message_rate = '100/minutes' }`, "deserialize error: max_message_rate: unknown period quantity minutes, while processing {\"max_message_rate\":\"100/minutes\"}"},
		{`{ max_ready = 1.5 }`, "deserialize error: max_ready: invalid type: floating point `1.5`, expected usize, while processing {\"max_ready\":1.5}"},
		{`{ enable_tls = true }`, "deserialize error: enable_tls: invalid type: boolean `true`, expected enum Tls, while processing {\"enable_tls\":true}"},
		{`'x'`, "deserialize error: invalid type: string \"x\", expected struct EgressPathConfig, while processing \"x\""},
		{`{ f = print }`, "deserialize error: f: cannot convert a function value to data"},
	}
	for _, c := range cases {
		out := runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local ok, err = pcall(kumo.make_egress_path, `+c.lua+`)
  return ok, tostring(err)
end)
`)
		if out[0] != false || !strings.Contains(out[1].(string), c.want) {
			t.Errorf("%s: got %#v\nwant it to contain %s", c.lua, out, c.want)
		}
	}
}

func TestMakeConfigsFromLua(t *testing.T) {
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  return kumo.make_egress_path { smtp_port = 2525 },
    kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.x' } } },
    kumo.make_egress_source { name = 's', source_address = '10.0.0.1' },
    kumo.make_egress_pool { name = 'p', entries = { { name = 's' } } }
end)
`)
	err := rt.Call(context.Background(), func(s *luart.State) error {
		L := s.L
		got, handled, err := s.Fire(context.Background(), "main")
		if err != nil || !handled || len(got) != 4 {
			t.Fatalf("main: %v %v %v", got, handled, err)
		}
		path, ok := kumo.EgressPathFromLua(got[0])
		if !ok || path.SMTPPort != 2525 {
			t.Errorf("EgressPathFromLua: %v %v", path, ok)
		}
		if _, ok := kumo.EgressPathFromLua(got[1]); ok {
			t.Error("a QueueConfig is not an egress path")
		}
		q, ok := kumo.QueueConfigFromLua(got[1])
		if !ok || q.Protocol.CustomLua.Constructor != "make.x" {
			t.Errorf("QueueConfigFromLua: %v %v", q, ok)
		}
		src, ok := kumo.EgressSourceFromLua(got[2])
		if !ok || src.SourceAddress.String() != "10.0.0.1" {
			t.Errorf("EgressSourceFromLua: %v %v", src, ok)
		}
		pool, ok := kumo.EgressPoolFromLua(got[3])
		if !ok || pool.Entries[0].Weight != 1 {
			t.Errorf("EgressPoolFromLua: %v %v", pool, ok)
		}
		if _, ok := kumo.EgressPathFromLua(lua.LString("x")); ok {
			t.Error("a string is not an egress path")
		}
		// Go code can hand a config it built to Lua.
		L.SetGlobal("built", kumo.NewEgressPathUserData(L, path))
		L.SetGlobal("queue", kumo.NewQueueConfigUserData(L, q))
		return L.DoString(`assert(built.smtp_port == 2525 and built.connection_limit.limit == 32)
assert(queue.protocol.custom_lua.constructor == 'make.x')`)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestConfigObjectsAsData(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  return kumo.make_egress_path { max_message_rate = '1,000/hr' },
    kumo.make_egress_source { name = 's' }
end)
`)
	path := out[0].(map[string]any)
	if path["max_message_rate"] != "1000/h" || path["ehlo_domain"] != nil {
		t.Errorf("path as data: %#v", path)
	}
	if _, ok := path["ehlo_domain"]; !ok {
		t.Error("None fields are present as nil")
	}
	if src := out[1].(map[string]any); src["name"] != "s" || src["ttl"] != "1m" {
		t.Errorf("source as data: %#v", src)
	}
}

func TestEgressConfigMemoizedAndReadOnly(t *testing.T) {
	runMain(t, `
local kumo = require 'kumo'
local calls = 0
local get = kumo.memoize(function(domain)
  calls = calls + 1
  return kumo.make_egress_path { ehlo_domain = domain }
end, { name = 'test.egress.memo', ttl = '1m', capacity = 4 })
kumo.on('main', function()
  local a, b = get('a.example'), get('a.example')
  assert(calls == 1, 'second call is a hit')
  assert(a.ehlo_domain == 'a.example' and b.ehlo_domain == 'a.example')
  local ok, err = pcall(function() a.ehlo_domain = 'x' end)
  assert(not ok and tostring(err):find 'read%-only', tostring(err))
  -- sources and pools expose no fields, as upstream
  local ok2 = pcall(function() return kumo.make_egress_source { name = 's' }.name end)
  assert(not ok2, 'EgressSource fields are not readable')
  -- a config object converts back through the constructor
  local again = kumo.make_egress_path(a)
  assert(again.ehlo_domain == 'a.example' and again.connection_limit.limit == 32)
  assert(tostring(a):find '^EgressPathConfig: ')
end)
`)
}

// A memoized config object is shared by every state that hits the cache:
// the populator runs once, every state wraps the same Go object, and
// reading it from several goroutines at once must be safe (run with -race).
func TestEgressConfigSharedAcrossStates(t *testing.T) {
	h := newMemoHarness(t, `
local get = kumo.memoize(function()
  h.count()
  return kumo.make_egress_path { max_message_rate = '10/s', additional_connection_limits = { a = 1 } }
end, { name = 'test.egress.shared', ttl = '1m', capacity = 1 })
kumo.on('main', function()
  local p = get()
  h.keep(p)
  local n = 0
  for _ in pairs(p) do n = n + 1 end
  assert(p.max_message_rate == '10/s' and p.additional_connection_limits.a.limit == 1)
  return n, kumo.json_encode(p)
end)
`)
	states := make([]*luart.State, 8)
	for i := range states {
		states[i] = h.state()
	}
	// The first state populates the cache; the others hit it at once.
	first := memoFireIn(t, states[0])
	var wg sync.WaitGroup
	for _, s := range states[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, _, err := s.Fire(context.Background(), "main")
			if err != nil {
				t.Error(err)
				return
			}
			n, _ := luart.ToGo(out[0])
			js, _ := luart.ToGo(out[1])
			if n != first[0] || js != first[1] {
				t.Errorf("states disagree: %v %v vs %v", n, js, first)
			}
		}()
	}
	wg.Wait()
	if n := h.count.Load(); n != 1 {
		t.Errorf("the populator ran %d times for %d states, want 1", n, len(states))
	}
	kept := h.keptValues()
	if len(kept) != len(states) {
		t.Fatalf("kept %d config objects, want %d", len(kept), len(states))
	}
	for i, v := range kept {
		if v != kept[0] {
			t.Errorf("state %d wraps a different Go object (%p) than state 0 (%p)", i, v, kept[0])
		}
	}
}

func newBenchRuntime(b *testing.B, src string) *luart.Runtime {
	rt := luart.New(luart.Options{PolicyFile: "bench.lua", PolicySource: []byte(src), SystemRoots: []string{}})
	kumo.Install(rt, kumo.Services{})
	b.Cleanup(func() { rt.Close() })
	return rt
}

// BenchmarkMakeEgressPathLua12Fields calls kumo.make_egress_path from Lua
// with the same 12-field table as egress.BenchmarkDecodeEgressPath12Fields
// (the table constructor is part of the cost).
func BenchmarkMakeEgressPathLua12Fields(b *testing.B) {
	rt := newBenchRuntime(b, `
local kumo = require 'kumo'
kumo.on('main', function(n)
  for i = 1, n do
    kumo.make_egress_path {
      connection_limit = 10,
      max_message_rate = '100/min',
      max_connection_rate = '10/s',
      max_deliveries_per_connection = 50,
      enable_tls = 'Opportunistic',
      idle_timeout = '30s',
      data_timeout = '60s',
      connect_timeout = 30,
      additional_connection_limits = { provider = 20 },
      prohibited_hosts = { '127.0.0.0/8', '::1' },
      smtp_port = 25,
      refresh_strategy = 'Epoch',
    }
  end
end)
`)
	ctx := context.Background()
	if _, _, err := rt.Fire(ctx, "main", 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	if _, _, err := rt.Fire(ctx, "main", b.N); err != nil {
		b.Fatal(err)
	}
}
