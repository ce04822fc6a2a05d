package luart_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// testModule is a minimal `kumo` for testing the runtime on its own: on,
// sleep, spawn_task(event, ...) and bump_config_epoch, plus a per-runtime
// counter of states built.
func testModule(builds *atomic.Int64) luart.ModuleFunc {
	return func(s *luart.State) lua.LValue {
		if builds != nil {
			builds.Add(1)
		}
		L := s.L
		mod := L.NewTable()
		L.SetFuncs(mod, map[string]lua.LGFunction{
			"on": func(L *lua.LState) int {
				if err := luart.Register(L, L.CheckString(1), L.CheckFunction(2)); err != nil {
					L.RaiseError("%s", err.Error())
				}
				return 0
			},
			"sleep": func(L *lua.LState) int {
				if err := luart.Sleep(L, float64(L.CheckNumber(1))); err != nil {
					L.RaiseError("sleep interrupted: %v", err)
				}
				return 0
			},
			"spawn_task": func(L *lua.LState) int {
				var args []any
				for i := 2; i <= L.GetTop(); i++ {
					g, _ := luart.ToGo(L.Get(i))
					args = append(args, g)
				}
				if err := luart.StateOf(L).Runtime().SpawnTask(L.CheckString(1), args); err != nil {
					L.RaiseError("%s", err.Error())
				}
				return 0
			},
			"bump_config_epoch": func(L *lua.LState) int {
				luart.StateOf(L).Runtime().BumpEpoch()
				return 0
			},
			"traceback": func(L *lua.LState) int {
				L.Push(luart.TracebackTable(L, L.CheckInt(1)))
				return 1
			},
		})
		return mod
	}
}

func newRT(t testing.TB, src string, opts luart.Options) (*luart.Runtime, *atomic.Int64) {
	t.Helper()
	opts.PolicyFile = "policy.lua"
	opts.PolicySource = []byte(src)
	if opts.SystemRoots == nil {
		opts.SystemRoots = []string{}
	}
	rt := luart.New(opts)
	rt.DeclareMultipleEvents("get_queue_config", "should_enqueue_log_record")
	var builds atomic.Int64
	rt.AddModule("kumo", testModule(&builds))
	t.Cleanup(func() { rt.Close() })
	return rt, &builds
}

func fire(t *testing.T, rt *luart.Runtime, event string, args ...any) ([]any, bool) {
	t.Helper()
	out, ok, err := rt.Fire(context.Background(), event, args...)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	return out, ok
}

func TestSingleEventRejectsSecondHandler(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('init', function() end)
kumo.on('init', function() end)
`, luart.Options{})
	_, _, err := rt.Fire(context.Background(), "init")
	if err == nil {
		t.Fatal("second kumo.on('init') was accepted")
	}
	if !strings.Contains(err.Error(), "init event already has a handler defined at policy.lua:3") {
		t.Fatalf("error does not name the first handler: %v", err)
	}
	var pe *luart.PolicyError
	if !errors.As(err, &pe) {
		t.Fatalf("want a PolicyError, got %T", err)
	}
}

func TestUserEventsAreSingle(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('make.example.tsa.kumomta', function() end)
kumo.on('make.example.tsa.kumomta', function() end)
`, luart.Options{})
	if _, _, err := rt.Fire(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), "already has a handler") {
		t.Fatalf("user-invented event names must be Single, got %v", err)
	}
}

// The runtime knows no event names: an event is Multiple only when the host
// declares it so.
func TestMultipleEventsAreDeclaredByTheHost(t *testing.T) {
	src := []byte(`
local kumo = require 'kumo'
kumo.on('pre_init', function() end)
kumo.on('pre_init', function() end)
`)
	rt := luart.New(luart.Options{PolicyFile: "p.lua", PolicySource: src, SystemRoots: []string{}})
	rt.AddModule("kumo", testModule(nil))
	defer rt.Close()
	if _, _, err := rt.Fire(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), "pre_init event already has a handler") {
		t.Fatalf("undeclared pre_init must be Single, got %v", err)
	}
	rt2 := luart.New(luart.Options{PolicyFile: "p.lua", PolicySource: src, SystemRoots: []string{}})
	rt2.AddModule("kumo", testModule(nil))
	rt2.DeclareMultipleEvents("pre_init")
	defer rt2.Close()
	if _, _, err := rt2.Fire(context.Background(), "x"); err != nil {
		t.Fatalf("declared pre_init: %v", err)
	}
	if !rt2.IsMultipleEvent("pre_init") || rt2.IsMultipleEvent("init") {
		t.Error("IsMultipleEvent")
	}
}

func TestMultipleEventChainStopsAtFirstValue(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
calls = {}
kumo.on('get_queue_config', function(d) table.insert(calls, 'a') end)
kumo.on('get_queue_config', function(d) table.insert(calls, 'b') return end)
kumo.on('get_queue_config', function(d) table.insert(calls, 'c') return nil end)
kumo.on('get_queue_config', function(d) table.insert(calls, 'd') return 'never' end)
kumo.on('main', function() return table.concat(calls, ',') end)
`, luart.Options{})
	err := rt.Call(context.Background(), func(s *luart.State) error {
		out, ok, err := s.Fire(context.Background(), "get_queue_config", lua.LString("example.com"))
		if err != nil {
			return err
		}
		if !ok || len(out) != 1 || out[0] != lua.LNil {
			t.Errorf("want handled with one explicit nil, got ok=%v out=%v", ok, out)
		}
		calls, _, err := s.Fire(context.Background(), "main")
		if err != nil {
			return err
		}
		if got := calls[0].String(); got != "a,b,c" {
			t.Errorf("handlers called: %s, want a,b,c", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMultipleEventNoValueIsUnhandled(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('should_enqueue_log_record', function() end)
kumo.on('should_enqueue_log_record', function() return end)
`, luart.Options{})
	out, ok := fire(t, rt, "should_enqueue_log_record")
	if ok || len(out) != 0 {
		t.Fatalf("want unhandled, got ok=%v out=%v", ok, out)
	}
	if _, ok := fire(t, rt, "no_such_event"); ok {
		t.Fatal("an event without handlers reported handled")
	}
}

func TestSingleEventNoReturnIsHandled(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('init', function() end)
`, luart.Options{})
	out, ok := fire(t, rt, "init")
	if !ok || len(out) != 0 {
		t.Fatalf("want handled with no values, got ok=%v out=%v", ok, out)
	}
}

func TestRegisterDuringEventIsRefused(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.on('get_egress_path_config', function() end)
end)
kumo.on('main', function()
  kumo.on('late_but_allowed_from_main', function() return 'ok' end)
end)
`, luart.Options{})
	_, _, err := rt.Fire(context.Background(), "init")
	if err == nil || !strings.Contains(err.Error(), "from within the event handler 'init'") {
		t.Fatalf("registration inside init must fail, got %v", err)
	}
	if _, ok := fire(t, rt, "main"); !ok {
		t.Fatal("main not handled")
	}
}

func TestCurrentEventGlobal(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
at_load = tostring(_KUMO_CURRENT_EVENT)
kumo.on('init', function() return _KUMO_CURRENT_EVENT, at_load end)
`, luart.Options{})
	out, _ := fire(t, rt, "init")
	if out[0] != "init" || out[1] != "nil" {
		t.Fatalf("got %v", out)
	}
}

func TestDispatchDeadlineCancelsRunawayHandler(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function() while true do end end)
kumo.on('init', function() return 'fine' end)
`, luart.Options{MaxStates: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := rt.Fire(ctx, "get_egress_path_config", "example.com")
	var te *luart.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want TimeoutError wrapping DeadlineExceeded, got %T %v", err, err)
	}
	if !strings.Contains(err.Error(), "get_egress_path_config") {
		t.Fatalf("timeout error does not name the event: %v", err)
	}
	// The state was retired; the single slot is free and a fresh state serves.
	if st := rt.PoolStats(); st.Live != 0 {
		t.Fatalf("runaway state not retired: %+v", st)
	}
	if out, _ := fire(t, rt, "init"); out[0] != "fine" {
		t.Fatalf("got %v", out)
	}
}

func TestDeadlineInterruptsSleep(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('init', function() kumo.sleep(3600) end)
`, luart.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, _, err := rt.Fire(ctx, "init")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("sleep was not interrupted by the deadline: %v", err)
	}
}

func TestPoolReusesStatesAndRetiresOnEpoch(t *testing.T) {
	rt, builds := newRT(t, `
local kumo = require 'kumo'
local n = 0
kumo.on('count', function() n = n + 1 return n end)
`, luart.Options{})
	for i := 1; i <= 3; i++ {
		out, _ := fire(t, rt, "count")
		if out[0] != int64(i) {
			t.Fatalf("dispatch %d ran on a fresh state (n=%v)", i, out[0])
		}
	}
	if builds.Load() != 1 {
		t.Fatalf("built %d states for sequential dispatches, want 1", builds.Load())
	}
	ch, unsub := rt.SubscribeEpoch()
	defer unsub()
	if e := rt.BumpEpoch(); e != 1 {
		t.Fatalf("epoch %d", e)
	}
	select {
	case e := <-ch:
		if e != 1 {
			t.Fatalf("subscriber saw %d", e)
		}
	case <-time.After(time.Second):
		t.Fatal("epoch subscriber not notified")
	}
	out, _ := fire(t, rt, "count")
	if out[0] != int64(1) || builds.Load() != 2 {
		t.Fatalf("state from the old epoch was reused (n=%v builds=%d)", out[0], builds.Load())
	}
}

func TestPoolRetiresAfterMaxUses(t *testing.T) {
	rt, builds := newRT(t, `require('kumo').on('x', function() end)`, luart.Options{MaxUses: 2})
	for i := 0; i < 5; i++ {
		fire(t, rt, "x")
	}
	if builds.Load() != 3 {
		t.Fatalf("built %d states for 5 dispatches with MaxUses=2, want 3", builds.Load())
	}
}

func TestPoolIsBounded(t *testing.T) {
	rt, builds := newRT(t, `
local kumo = require 'kumo'
kumo.on('block', function(secs) kumo.sleep(secs) end)
`, luart.Options{MaxStates: 2})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.Fire(context.Background(), "block", 0.3)
		}()
	}
	// Wait until both slots are taken.
	deadline := time.Now().Add(2 * time.Second)
	for rt.PoolStats().Live < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err := rt.Fire(ctx, "block", 0)
	if err == nil || !strings.Contains(err.Error(), "waiting for a free Lua state") {
		t.Fatalf("third dispatch did not wait for a slot: %v", err)
	}
	wg.Wait()
	if _, _, err := rt.Fire(context.Background(), "block", 0); err != nil {
		t.Fatal(err)
	}
	if builds.Load() > 2 {
		t.Fatalf("built %d states with MaxStates=2", builds.Load())
	}
}

func TestConcurrentDispatchRace(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function(domain, source, site)
  return { domain = domain, source = source, n = #domain }
end)
`, luart.Options{MaxStates: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				out, _, err := rt.Fire(context.Background(), "get_egress_path_config", "example.com", "src", "site")
				if err != nil {
					errs <- err
					return
				}
				m := out[0].(map[string]any)
				if m["n"] != int64(11) || m["domain"] != "example.com" {
					errs <- errors.New("bad result")
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// probe is a `probe` module for a test policy: probe.report(...) sends its
// arguments, converted to Go, to the test.
type probe chan []any

func addProbe(rt *luart.Runtime) probe {
	p := make(probe, 16)
	rt.AddModule("probe", func(s *luart.State) lua.LValue {
		return s.L.SetFuncs(s.L.NewTable(), map[string]lua.LGFunction{
			"report": func(L *lua.LState) int {
				var args []any
				for i := 1; i <= L.GetTop(); i++ {
					g, err := luart.ToGo(L.Get(i))
					if err != nil {
						L.RaiseError("probe: %v", err)
					}
					args = append(args, g)
				}
				select {
				case p <- args:
				default:
					L.RaiseError("probe: too many reports")
				}
				return 0
			},
		})
	})
	return p
}

// next waits for a report, failing the test if none comes.
func (p probe) next(t *testing.T) []any {
	t.Helper()
	select {
	case r := <-p:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no probe report")
		return nil
	}
}

// none fails the test if a report is pending.
func (p probe) none(t *testing.T, what string) {
	t.Helper()
	select {
	case r := <-p:
		t.Fatalf("%s: probe reported %v", what, r)
	default:
	}
}

func TestSpawnTaskRunsWithArgsAndStopsOnClose(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
local probe = require 'probe'
kumo.on('init', function() kumo.spawn_task('worker', 'a', 2) end)
kumo.on('worker', function(args)
  probe.report(args)
  kumo.sleep(3600)
  probe.report('the sleep was not interrupted')
end)
`, luart.Options{TaskShutdownGrace: 2 * time.Second})
	reports := addProbe(rt)
	fire(t, rt, "init")
	if got, want := reports.next(t), []any{[]any{"a", int64(2)}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("task got args %#v, want %#v", got, want)
	}
	if n := rt.RunningTasks(); n != 1 {
		t.Fatalf("%d tasks running, want 1", n)
	}
	// Close fails if the task outlives the grace period, that is if the
	// sleep was not cancelled.
	if err := rt.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if rt.RunningTasks() != 0 {
		t.Fatal("task still running after Close")
	}
	reports.none(t, "after Close")
}

func TestSpawnTaskReceivesOneTableArgument(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('init', function() kumo.spawn_task('worker', {url = 'http://x'}, 7) end)
kumo.on('worker', function(args)
  local f = io.open(`+"'"+out+"'"+`, 'w')
  f:write(type(args), ' ', #args, ' ', args[1].url, ' ', args[2])
  f:close()
end)
`, luart.Options{})
	fire(t, rt, "init")
	deadline := time.Now().Add(2 * time.Second)
	var data []byte
	for time.Now().Before(deadline) {
		data, _ = os.ReadFile(out)
		if len(data) > 0 && rt.RunningTasks() == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if string(data) != "table 2 http://x 7" {
		t.Fatalf("task saw %q", data)
	}
}

func TestSpawnTaskIsNoopWhenValidating(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
local probe = require 'probe'
kumo.on('init', function() kumo.spawn_task('worker') return _VALIDATING_CONFIG end)
kumo.on('worker', function() probe.report('worker ran') end)
`, luart.Options{Validating: true})
	reports := addProbe(rt)
	// A task's first act is building its own state: count those, as the
	// worker itself may be cancelled by Close before it gets to run.
	var taskStates atomic.Int64
	rt.AddStateHook(func(s *luart.State) error {
		if s.IsTask() {
			taskStates.Add(1)
		}
		return nil
	})
	out, _ := fire(t, rt, "init")
	if out[0] != true {
		t.Fatalf("_VALIDATING_CONFIG = %v", out[0])
	}
	// Close waits for every spawned task to end.
	if err := rt.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if n := taskStates.Load(); n != 0 {
		t.Fatalf("spawn_task started a task in validate mode (%d task states built)", n)
	}
	reports.none(t, "spawn_task in validate mode")
}

func TestRequireSearchOrderAndEmbeddedFallback(t *testing.T) {
	root1 := t.TempDir()
	root2 := t.TempDir()
	extra := t.TempDir()
	write := func(dir, rel, src string) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(root1, "policy-extras/a.lua", "return 'share'")
	write(root2, "policy-extras/a.lua", "return 'etc'")
	write(root2, "policy-extras/b.lua", "return 'etc-b'")
	write(root2, "pkg/init.lua", "return 'init'")
	write(extra, "policy-extras/c.lua", "return 'rewritten-path'")
	emb := fstest.MapFS{
		"policy-extras/a.lua": {Data: []byte("return 'embedded-a'")},
		"policy-extras/d.lua": {Data: []byte("return 'embedded-d'")},
	}
	rt, _ := newRT(t, `
local kumo = require 'kumo'
local a = require 'policy-extras.a'
local b = require 'policy-extras.b'
local p = require 'pkg'
local d = require 'policy-extras.d'
package.path = '`+extra+`/?.lua;' .. package.path
local c = require 'policy-extras.c'
local ok, err = pcall(require, 'policy-extras.missing')
kumo.on('main', function() return a, b, p, d, c, err, package.loaded.kumo == kumo, rawget(_G, 'kumo') end)
`, luart.Options{SystemRoots: []string{root1, root2}, Embedded: emb})
	out, _ := fire(t, rt, "main")
	want := []any{"share", "etc-b", "init", "embedded-d", "rewritten-path"}
	for i, w := range want {
		if out[i] != w {
			t.Errorf("require result %d = %v, want %v", i, out[i], w)
		}
	}
	msg, _ := out[5].(string)
	if !strings.Contains(msg, "module 'policy-extras.missing' not found") ||
		!strings.Contains(msg, "no file '"+root1+"/policy-extras/missing.lua'") ||
		!strings.Contains(msg, "no embedded module") {
		t.Errorf("missing-module error is unhelpful: %s", msg)
	}
	if out[6] != true || out[7] != nil {
		t.Errorf("kumo must be in package.loaded and not a global: %v %v", out[6], out[7])
	}
}

func TestSearchPathOrder(t *testing.T) {
	rt := luart.New(luart.Options{SearchRoots: []string{"/checkout/assets"}})
	defer rt.Close()
	p := rt.SearchPath()
	i1 := strings.Index(p, "/checkout/assets/?.lua")
	i2 := strings.Index(p, "/opt/kumomta/share/?.lua")
	i3 := strings.Index(p, "/opt/kumomta/etc/policy/?.lua")
	i4 := strings.Index(p, "./?.lua")
	if !(i1 == 0 && i1 < i2 && i2 < i3 && i3 < i4) {
		t.Fatalf("search path order wrong: %s", p)
	}
}

func TestPolicyEditTakesEffectAfterEpochBump(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "init.lua")
	os.WriteFile(policy, []byte(`require('kumo').on('v', function() return 1 end)`), 0o644)
	rt := luart.New(luart.Options{PolicyFile: policy, SystemRoots: []string{}})
	rt.AddModule("kumo", testModule(nil))
	defer rt.Close()
	out, _ := fire(t, rt, "v")
	if out[0] != int64(1) {
		t.Fatal(out)
	}
	os.WriteFile(policy, []byte(`require('kumo').on('v', function() return 2 end) -- longer`), 0o644)
	out, _ = fire(t, rt, "v")
	if out[0] != int64(1) {
		t.Fatal("policy reloaded without an epoch bump")
	}
	rt.BumpEpoch()
	out, _ = fire(t, rt, "v")
	if out[0] != int64(2) {
		t.Fatalf("edited policy not picked up after epoch bump: %v", out[0])
	}
}

func TestPolicySyntaxErrorNamesFileAndLine(t *testing.T) {
	rt, _ := newRT(t, "local x = 1\nlocal = 2\n", luart.Options{})
	_, _, err := rt.Fire(context.Background(), "init")
	var se *luart.SyntaxError
	if !errors.As(err, &se) || err.Error() != "loading policy.lua: policy.lua:2:7: syntax error near '='" {
		t.Fatalf("syntax error should name file and line: %v", err)
	}
}

func TestHandlerErrorCarriesPosition(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('init', function()
  error('boom')
end)
`, luart.Options{})
	_, _, err := rt.Fire(context.Background(), "init")
	var le *luart.LuaError
	if !errors.As(err, &le) || le.Message != "policy.lua:4: boom" {
		t.Fatalf("got %T %v", err, err)
	}
	if !strings.Contains(le.Traceback, "policy.lua") {
		t.Fatalf("traceback missing: %q", le.Traceback)
	}
}

func TestCompatShims(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local proxy = setmetatable({}, { __pairs = function(t)
    local done = false
    return function() if done then return nil end done = true return 'k', 'v' end, t, nil
  end })
  local seen = {}
  for k, v in pairs(proxy) do seen[#seen + 1] = k .. '=' .. v end
  local n = 0
  for _ in ipairs('abc') do n = n + 1 end
  local via_index = setmetatable({}, { __index = function(_, i) if i <= 3 then return i * 10 end end })
  local sum = 0
  for _, v in ipairs(via_index) do sum = sum + v end
  local a, b = table.unpack({ 1, 2 })
  local ok = pcall(pairs, 42)
  return table.concat(seen, ','), n, sum, a + b, math.type(3), math.type(3.5), math.type('3'), ok, collectgarbage()
end)
`, luart.Options{})
	out, _ := fire(t, rt, "main")
	want := []any{"k=v", int64(0), int64(60), int64(3), "integer", "float", nil, false, int64(0)}
	for i, w := range want {
		if out[i] != w {
			t.Errorf("result %d = %#v, want %#v", i, out[i], w)
		}
	}
}

func TestTracebackFrames(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
local function inner()
  return kumo.traceback(1)
end
kumo.on('main', function()
  local tb = inner()
  return tb[1].what, tb[1].short_src, tb[1].curr_line, tb[1].line_defined, tb[2].curr_line, tb[1].source
end)
`, luart.Options{})
	out, _ := fire(t, rt, "main")
	want := []any{"Lua", "policy.lua", int64(4), int64(3), int64(7), "@policy.lua"}
	for i, w := range want {
		if out[i] != w {
			t.Errorf("field %d = %#v, want %#v", i, out[i], w)
		}
	}
}

func TestValidationFlag(t *testing.T) {
	rt := luart.New(luart.Options{})
	defer rt.Close()
	if rt.ValidationFailed() {
		t.Fatal("fresh runtime reports failure")
	}
	rt.MarkValidationFailed()
	if !rt.ValidationFailed() {
		t.Fatal("flag not recorded")
	}
}

func TestClosedRuntimeRefusesDispatch(t *testing.T) {
	rt, _ := newRT(t, `require('kumo').on('x', function() end)`, luart.Options{})
	fire(t, rt, "x")
	rt.Close()
	if _, _, err := rt.Fire(context.Background(), "x"); !errors.Is(err, luart.ErrClosed) {
		t.Fatalf("got %v", err)
	}
}

func TestAssertIsLua54(t *testing.T) {
	rt, _ := newRT(t, `
require('kumo').on('main', function()
  local _, e1 = pcall(assert, false, '100% sure')
  local _, e2 = pcall(assert, nil)
  local _, e3 = pcall(assert, false, { code = 7 })
  return e1, e2, e3.code, select('#', assert(1, 2, 3))
end)
`, luart.Options{})
	out, _ := fire(t, rt, "main")
	want := []any{"100% sure", "assertion failed!", int64(7), int64(3)}
	for i, w := range want {
		if out[i] != w {
			t.Errorf("result %d = %#v, want %#v", i, out[i], w)
		}
	}
}

func TestConvertArrays(t *testing.T) {
	rt, _ := newRT(t, `require('kumo').on('main', function(arr) arr[2] = nil return arr, {1, 2, 3}, {}, {a = 1, [2] = 'b'}, math.huge > 1e308 end)`, luart.Options{})
	out, _ := fire(t, rt, "main", []any{int64(1), int64(2), int64(3)})
	a, ok := out[0].([]any)
	if !ok || len(a) != 3 || a[0] != int64(1) || a[1] != nil || a[2] != int64(3) {
		t.Errorf("marked array with a hole = %#v", out[0])
	}
	if b, ok := out[1].([]any); !ok || len(b) != 3 {
		t.Errorf("sequence = %#v", out[1])
	}
	if m, ok := out[2].(map[string]any); !ok || len(m) != 0 {
		t.Errorf("empty table = %#v", out[2])
	}
	if m, ok := out[3].(map[string]any); !ok || m["a"] != int64(1) || m["2"] != "b" {
		t.Errorf("mixed table = %#v", out[3])
	}
	if out[4] != true {
		t.Errorf("math.huge is not infinite")
	}
}

// Arrays from Go data keep their marker (so they convert back to arrays,
// empty ones included) but hide it from Lua, as KumoMTA does: getmetatable
// gives false and setmetatable refuses to replace it.
func TestArrayMarkerIsHiddenFromLua(t *testing.T) {
	rt, _ := newRT(t, `require('kumo').on('main', function(arr, empty)
  local ok, err = pcall(setmetatable, empty, {})
  return getmetatable(arr), getmetatable(empty), ok, err, arr, empty
end)`, luart.Options{})
	out, _ := fire(t, rt, "main", []any{"a"}, []any{})
	if out[0] != false || out[1] != false {
		t.Errorf("getmetatable = %#v, %#v, want false, false", out[0], out[1])
	}
	if out[2] != false || !strings.Contains(fmt.Sprint(out[3]), "protected metatable") {
		t.Errorf("setmetatable on a marked array: ok=%v err=%v", out[2], out[3])
	}
	if a, ok := out[4].([]any); !ok || len(a) != 1 || a[0] != "a" {
		t.Errorf("array = %#v", out[4])
	}
	if a, ok := out[5].([]any); !ok || len(a) != 0 {
		t.Errorf("empty array = %#v, want []any{}", out[5])
	}
}

func TestPoolTunables(t *testing.T) {
	rt, builds := newRT(t, `require('kumo').on('x', function() end)`, luart.Options{})
	rt.SetMaxUses(1)
	for i := 0; i < 3; i++ {
		fire(t, rt, "x")
	}
	if builds.Load() != 3 {
		t.Fatalf("SetMaxUses(1): built %d states for 3 dispatches", builds.Load())
	}
	rt.SetMaxUses(100)
	rt.SetMaxSpare(0)
	fire(t, rt, "x")
	if st := rt.PoolStats(); st.Idle != 0 || st.Live != 0 {
		t.Fatalf("SetMaxSpare(0) kept a state: %+v", st)
	}
	rt.SetMaxSpare(10)
	rt.SetMaxAge(0)
	fire(t, rt, "x")
	fire(t, rt, "x")
	if builds.Load() != 6 {
		t.Fatalf("SetMaxAge(0): built %d states, want 6", builds.Load())
	}
}

// Closing the runtime while dispatches are in flight neither deadlocks nor
// panics: in-flight handlers finish or are cut short, later ones get
// ErrClosed, and every state is closed.
func TestCloseDuringConcurrentDispatch(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('work', function() kumo.sleep(0.01) return 1 end)
`, luart.Options{MaxStates: 4})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, _, err := rt.Fire(context.Background(), "work")
				if errors.Is(err, luart.ErrClosed) {
					return
				}
				var le *luart.LuaError
				if err != nil && !errors.As(err, &le) {
					t.Errorf("unexpected error: %v", err)
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { rt.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
	close(stop)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("dispatchers hung after Close")
	}
	if st := rt.PoolStats(); st.Idle != 0 || st.Live != 0 {
		t.Fatalf("states left after Close: %+v", st)
	}
}

func TestNoBackgroundWorkStartsNothing(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('init', function() kumo.spawn_task('worker') return _VALIDATING_CONFIG end)
kumo.on('worker', function() end)
`, luart.Options{NoBackgroundWork: true})
	var taskStates atomic.Int64
	rt.AddStateHook(func(s *luart.State) error {
		if s.IsTask() {
			taskStates.Add(1)
		}
		return nil
	})
	out, _ := fire(t, rt, "init")
	if out[0] == true {
		t.Fatalf("_VALIDATING_CONFIG = %v: NoBackgroundWork is not validate mode", out[0])
	}
	var ran atomic.Bool
	if rt.Go(func(context.Context) { ran.Store(true) }) {
		t.Error("Go started work with NoBackgroundWork")
	}
	if err := rt.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if taskStates.Load() != 0 || ran.Load() {
		t.Fatalf("background work ran: %d task states, Go ran %v", taskStates.Load(), ran.Load())
	}
}

func TestGoIsCancelledAndAwaitedByClose(t *testing.T) {
	rt := luart.New(luart.Options{TaskShutdownGrace: 5 * time.Second})
	started, finished := make(chan struct{}), make(chan struct{})
	if !rt.Go(func(ctx context.Context) {
		close(started)
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // Close must wait for this
		close(finished)
	}) {
		t.Fatal("Go started nothing")
	}
	<-started
	if err := rt.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Close returned before the work ended")
	}
	if rt.Go(func(context.Context) {}) {
		t.Error("Go started work on a closed runtime")
	}
}
