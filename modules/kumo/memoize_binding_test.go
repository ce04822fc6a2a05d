package kumo_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/memoize"
)

// memoHarness is a runtime whose policy can `require 'memotest'`: Go hooks
// to count populations, block them, and make userdata.
type memoHarness struct {
	t       testing.TB
	rt      *luart.Runtime
	clock   *memoize.ManualClock
	reg     *memoize.Registry
	count   atomic.Int64
	blocked atomic.Int64  // hooks currently blocked in block/block_once
	once    atomic.Bool   // block_once already blocked
	gate    chan struct{} // closed by open()
	opened  sync.Once
	keptMu  sync.Mutex
	kept    []any // the Go values of the userdata passed to h.keep
}

const memoPrelude = "local kumo = require 'kumo'\nlocal h = require 'memotest'\n"

func newMemoHarness(t testing.TB, src string) *memoHarness {
	t.Helper()
	h := &memoHarness{t: t, gate: make(chan struct{}), clock: memoize.NewManualClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))}
	h.rt = luart.New(luart.Options{
		PolicyFile:   "test_policy.lua",
		PolicySource: []byte(memoPrelude + src),
		SystemRoots:  []string{},
		MaxStates:    64,
	})
	h.reg = memoize.NewRegistry(memoize.WithClock(h.clock), memoize.WithEpoch(h.rt.Epoch))
	kumo.Install(h.rt, kumo.Services{Memoize: h.reg})
	h.rt.AddModule("memotest", h.module)
	t.Cleanup(func() {
		h.open()
		h.rt.Close()
	})
	return h
}

// keptValues returns the Go values h.keep saw, in order.
func (h *memoHarness) keptValues() []any {
	h.keptMu.Lock()
	defer h.keptMu.Unlock()
	return append([]any(nil), h.kept...)
}

func (h *memoHarness) open() { h.opened.Do(func() { close(h.gate) }) }

func (h *memoHarness) wait() {
	h.blocked.Add(1)
	defer h.blocked.Add(-1)
	<-h.gate
}

func (h *memoHarness) module(s *luart.State) lua.LValue {
	L := s.L
	return L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"count": func(L *lua.LState) int {
			L.Push(lua.LNumber(h.count.Add(1)))
			return 1
		},
		"get_count": func(L *lua.LState) int {
			L.Push(lua.LNumber(h.count.Load()))
			return 1
		},
		"block": func(L *lua.LState) int {
			h.wait()
			return 0
		},
		"block_once": func(L *lua.LState) int {
			if h.once.CompareAndSwap(false, true) {
				h.wait()
			}
			return 0
		},
		"make_obj": func(L *lua.LState) int {
			L.Push((&memoTestObj{n: L.CheckInt(1)}).NewLuaUserData(L))
			return 1
		},
		"make_plain": func(L *lua.LState) int {
			ud := L.NewUserData()
			ud.Value = struct{ n int }{1}
			mt := L.NewTypeMetatable("memotest.Plain")
			mt.RawSetString("__name", lua.LString("memotest.Plain"))
			L.SetMetatable(ud, mt)
			L.Push(ud)
			return 1
		},
		"keep": func(L *lua.LState) int {
			h.keptMu.Lock()
			h.kept = append(h.kept, L.CheckUserData(1).Value)
			h.keptMu.Unlock()
			return 0
		},
		"same_object": func(L *lua.LState) int {
			L.Push(lua.LBool(L.CheckUserData(1).Value == L.CheckUserData(2).Value))
			return 1
		},
		"empty_array": func(L *lua.LState) int {
			L.Push(luart.ToLua(L, []any{}))
			return 1
		},
	})
}

// memoTestObj is a userdata value that opts in to memoization, as a
// Shaping object would: the cache shares the pointer, every hit wraps it in
// a new userdata of the calling state.
type memoTestObj struct{ n int }

func (o *memoTestObj) MemoizeValue() kumo.MemoizedUserData { return o }

func (o *memoTestObj) NewLuaUserData(L *lua.LState) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = o
	mt := L.NewTypeMetatable("memotest.Obj")
	if mt.RawGetString("__index") == lua.LNil {
		mt.RawSetString("__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"get": func(L *lua.LState) int {
				L.Push(lua.LNumber(L.CheckUserData(1).Value.(*memoTestObj).n))
				return 1
			},
		}))
	}
	L.SetMetatable(ud, mt)
	return ud
}

// fire dispatches `main` on a pooled state.
func (h *memoHarness) fire(ctx context.Context, args ...any) ([]any, error) {
	out, handled, err := h.rt.Fire(ctx, "main", args...)
	if err == nil && !handled {
		err = errors.New("no main handler")
	}
	return out, err
}

func (h *memoHarness) mustFire(args ...any) []any {
	h.t.Helper()
	// A call that blocks is a bug: fail rather than hang.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.fire(ctx, args...)
	if err != nil {
		h.t.Fatalf("main%v: %v", args, err)
	}
	return out
}

// goFire runs fire in a goroutine.
func (h *memoHarness) goFire(ctx context.Context, args ...any) <-chan memoFireResult {
	ch := make(chan memoFireResult, 1)
	go func() {
		out, err := h.fire(ctx, args...)
		ch <- memoFireResult{out, err}
	}()
	return ch
}

type memoFireResult struct {
	out []any
	err error
}

// memoRecv receives from ch, failing the test after 10 s.
func memoRecv(t testing.TB, ch <-chan memoFireResult) memoFireResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a dispatch")
		return memoFireResult{}
	}
}

// state builds a standalone state (its own Lua state, same runtime).
func (h *memoHarness) state() *luart.State {
	h.t.Helper()
	s, err := h.rt.NewStandaloneState()
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(s.Close)
	return s
}

func memoFireIn(t testing.TB, s *luart.State, args ...any) []any {
	t.Helper()
	largs := make([]lua.LValue, len(args))
	for i, a := range args {
		largs[i] = luart.ToLua(s.L, a)
	}
	out, _, err := s.Fire(context.Background(), "main", largs...)
	if err != nil {
		t.Fatalf("main%v: %v", args, err)
	}
	res := make([]any, len(out))
	for i, v := range out {
		g, err := luart.ToGo(v)
		if err != nil {
			t.Fatal(err)
		}
		res[i] = g
	}
	return res
}

func memoWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *memoHarness) cache(name string) *memoize.Cache {
	h.t.Helper()
	c := h.reg.Lookup(name)
	if c == nil {
		h.t.Fatalf("no cache %q", name)
	}
	return c
}

func wantValues(t testing.TB, got []any, want ...any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestMemoizeIdentityAcrossStatesAndFunctions(t *testing.T) {
	h := newMemoHarness(t, `
local P = { name = 'user.ident', ttl = '5 minutes', capacity = 10 }
local a = kumo.memoize(function(x) h.count(); return 'a:' .. x end, P)
local b = kumo.memoize(function(x) h.count(); return 'b:' .. x end, P)
kumo.on('main', function(which, x)
  if which == 'a' then return a(x) end
  if which == 'b' then return b(x) end
  local c = kumo.memoize(function(x) h.count(); return 'c:' .. x end,
    { name = 'user.ident', ttl = '5 minutes', capacity = 11 })
  return c(x)
end)
`)
	sa, sb := h.state(), h.state()
	wantValues(t, memoFireIn(t, sa, "a", "x"), "a:x")
	// Another state, another function, identical params: same entries.
	wantValues(t, memoFireIn(t, sb, "b", "x"), "a:x")
	if h.count.Load() != 1 {
		t.Fatalf("populations = %d, want 1", h.count.Load())
	}
	// Different params replace the cache with an empty one...
	wantValues(t, memoFireIn(t, sa, "c", "x"), "c:x")
	if h.count.Load() != 2 || h.cache("user.ident").Params().Capacity != 11 {
		t.Fatalf("populations = %d, params %+v", h.count.Load(), h.cache("user.ident").Params())
	}
	// ...which functions made earlier under the name use too.
	wantValues(t, memoFireIn(t, sb, "a", "x"), "c:x")
}

func TestMemoizeKeySharing(t *testing.T) {
	out := newMemoHarness(t, `
local f = kumo.memoize(function(...) return h.count() end, { name = 'user.keys', ttl = '1h', capacity = 100 })
kumo.on('main', function()
  local r = {}
  r.none, r.nilarg = f(), f(nil)
  r.two, r.tbl = f('a', 'b'), f({ 'a', 'b' })
  r.int, r.str, r.float = f(1), f('1'), f(1.0)
  r.trailing = f(1, nil)
  r.obj1, r.obj2 = f({ b = 1, a = { 2, 3 } }), f({ a = { 2, 3 }, b = 1 })
  r.empty, r.nested, r.emptyarr = f({}), f({ {} }), f(h.empty_array())
  r.bin1, r.bin2 = f('\xff'), f('\xfe')
  return r
end)
`).mustFire()
	r := out[0].(map[string]any)
	same := [][2]string{{"none", "nilarg"}, {"two", "tbl"}, {"int", "float"}, {"obj1", "obj2"}}
	for _, p := range same {
		if r[p[0]] != r[p[1]] {
			t.Errorf("f(%s) and f(%s) should share a key: %v vs %v", p[0], p[1], r[p[0]], r[p[1]])
		}
	}
	distinct := [][2]string{{"int", "str"}, {"int", "trailing"}, {"none", "empty"}, {"empty", "nested"}, {"empty", "emptyarr"}, {"bin1", "bin2"}, {"two", "int"}}
	for _, p := range distinct {
		if r[p[0]] == r[p[1]] {
			t.Errorf("f(%s) and f(%s) must not share a key", p[0], p[1])
		}
	}
}

func TestMemoizeCallsWithOriginalArguments(t *testing.T) {
	out := newMemoHarness(t, `
local seen
local f = kumo.memoize(function(t, n) seen = t; return select('#', t, n) end, { name = 'user.args', ttl = '1h', capacity = 10 })
kumo.on('main', function()
  local arg = { 1 }
  local n = f(arg, nil)
  return n, rawequal(seen, arg)
end)
`).mustFire()
	wantValues(t, out, int64(2), true)
}

func TestMemoizeKeyErrors(t *testing.T) {
	out := newMemoHarness(t, `
local f = kumo.memoize(function(...) return 1 end, { name = 'user.keyerr', ttl = '1h', capacity = 10 })
local function e(...) local ok, err = pcall(f, ...); return ok and '<no error>' or tostring(err) end
kumo.on('main', function()
  local cyclic = {}; cyclic.self = cyclic
  return e(function() end), e(1, h.make_plain()), e({ [true] = 1 }), e(cyclic), e(coroutine.create(function() end))
end)
`).mustFire()
	wants := []string{
		"cannot use the argument as a memoize key: a function value cannot be converted to JSON",
		"cannot use argument 2 as a memoize key: a userdata value (memotest.Plain) cannot be converted to JSON",
		"table key Boolean(true) cannot be converted to a JSON object key",
		"a table that contains itself cannot be converted to JSON",
		"a thread value cannot be converted to JSON",
	}
	for i, w := range wants {
		if s, _ := out[i].(string); !strings.Contains(s, w) {
			t.Errorf("error %d = %q, want it to contain %q", i, out[i], w)
		}
	}
}

func TestMemoizeMultipleReturnsCollapse(t *testing.T) {
	h := newMemoHarness(t, `
local m = kumo.memoize(function() h.count(); return 1, 'two', { 3 }, nil end, { name = 'user.multi', ttl = '1h', capacity = 10 })
local z = kumo.memoize(function() h.count() end, { name = 'user.zero', ttl = '1h', capacity = 10 })
kumo.on('main', function()
  local n = select('#', m())
  local t = m()
  return n, type(t), t[1], t[2], t[3][1], #t, select('#', z()), z() == nil
end)
`)
	for i := 0; i < 2; i++ { // a miss, then hits
		wantValues(t, h.mustFire(), int64(1), "table", int64(1), "two", int64(3), int64(3), int64(1), true)
	}
	if h.count.Load() != 2 {
		t.Fatalf("populations = %d, want 2", h.count.Load())
	}
}

func TestMemoizeFreshTablePerHit(t *testing.T) {
	h := newMemoHarness(t, `
local orig
local f = kumo.memoize(function()
  h.count()
  orig = { a = 1, nested = { b = 2 }, list = { 10, 20, 30 }, [7] = 'seven', [-1] = 'neg' }
  return orig
end, { name = 'user.fresh', ttl = '1h', capacity = 10 })
kumo.on('main', function()
  local t1 = f()
  local first_is_orig = rawequal(t1, orig)
  t1.a = 'changed'; t1.nested.b = 'changed'; table.insert(t1.list, 40); t1.extra = true
  local t2 = f()
  local keys = {}
  for k in pairs(t2) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local sum = 0
  for _, v in ipairs(t2.list) do sum = sum + v end
  return first_is_orig, rawequal(t1, t2), type(t2), t2.a, t2.nested.b, #t2.list, t2.extra == nil,
    table.concat(keys, ','), sum, t2[7], t2[-1], h.get_count()
end)
`)
	wantValues(t, h.mustFire(), false, false, "table", int64(1), int64(2), int64(3), true,
		"-1,7,a,list,nested", int64(60), "seven", "neg", int64(1))
}

func TestMemoizeValueShapes(t *testing.T) {
	h := newMemoHarness(t, `
local f = kumo.memoize(function(which)
  if which == 'empty_array' then return h.empty_array() end
  if which == 'empty_map' then return {} end
  if which == 'scalars' then return { s = 'x', n = 1.5, i = 3, b = false } end
  return nil
end, { name = 'user.shapes', ttl = '1h', capacity = 10 })
kumo.on('main', function(which) return f(which) end)
`)
	for i := 0; i < 2; i++ {
		wantValues(t, h.mustFire("empty_array"), []any{})
		wantValues(t, h.mustFire("empty_map"), map[string]any{})
		wantValues(t, h.mustFire("scalars"), map[string]any{"s": "x", "n": 1.5, "i": int64(3), "b": false})
		wantValues(t, h.mustFire("nil"), nil)
	}
}

func TestMemoizeTTLWithInjectedClock(t *testing.T) {
	h := newMemoHarness(t, `
local s = kumo.memoize(function() return h.count() end, { name = 'user.ttl_s', ttl = '10s', capacity = 10 })
local n = kumo.memoize(function() return h.count() end, { name = 'user.ttl_n', ttl = 10, capacity = 10 })
kumo.on('main', function(which) if which == 'n' then return n() end return s() end)
`)
	wantValues(t, h.mustFire("s"), int64(1))
	wantValues(t, h.mustFire("n"), int64(2))
	h.clock.Advance(9 * time.Second)
	wantValues(t, h.mustFire("s"), int64(1))
	wantValues(t, h.mustFire("n"), int64(2))
	h.clock.Advance(time.Second)
	wantValues(t, h.mustFire("s"), int64(3))
	wantValues(t, h.mustFire("n"), int64(4))
}

func TestMemoizeCapacity(t *testing.T) {
	h := newMemoHarness(t, `
local f = kumo.memoize(function(i) return i end, { name = 'user.cap', ttl = '1h', capacity = 40 })
kumo.on('main', function() for i = 1, 100 do f(i) end end)
`)
	h.mustFire()
	if n := h.cache("user.cap").Len(); n != 40 {
		t.Fatalf("entries = %d, want 40", n)
	}
}

func TestMemoizeSingleFlightAcrossStates(t *testing.T) {
	h := newMemoHarness(t, `
local f = kumo.memoize(function(k)
  h.count()
  h.block()
  return { k = k, at = os.time() }
end, { name = 'user.flight', ttl = '1h', capacity = 10 })
kumo.on('main', function(k) return f(k).k end)
`)
	const n = 32
	results := make([]<-chan memoFireResult, n)
	for i := range results {
		results[i] = h.goFire(context.Background(), "k")
	}
	memoWaitFor(t, "populator and waiters", func() bool {
		c := h.reg.Lookup("user.flight")
		return c != nil && c.Stats().Waits == n-1 && h.blocked.Load() == 1
	})
	h.open()
	for _, ch := range results {
		r := memoRecv(t, ch)
		if r.err != nil {
			t.Fatal(r.err)
		}
		wantValues(t, r.out, "k")
	}
	if h.count.Load() != 1 {
		t.Fatalf("populations = %d, want 1", h.count.Load())
	}
	if st := h.rt.PoolStats(); st.Live < n {
		t.Fatalf("expected %d states in use, pool has %+v", n, st)
	}
}

func TestMemoizeWaiterTimeout(t *testing.T) {
	h := newMemoHarness(t, `
local f = kumo.memoize(function(k) h.block(); return h.count() end,
  { name = 'user.timeout', ttl = '1h', capacity = 10, populate_timeout = '2s' })
kumo.on('main', function(k) return f(k) end)
`)
	first := h.goFire(context.Background(), "k")
	memoWaitFor(t, "populator", func() bool { return h.blocked.Load() == 1 })
	waiter := h.goFire(context.Background(), "k")
	memoWaitFor(t, "waiter", func() bool { return h.clock.Timers() == 1 })
	h.clock.Advance(2 * time.Second)
	r := memoRecv(t, waiter)
	want := `user.timeout lookup for (None, "\"k\"") timed out after 2s on semaphore acquire while waiting for cache to populate`
	if r.err == nil || !strings.Contains(r.err.Error(), want) {
		t.Fatalf("waiter got %v, %v\nwant error containing %s", r.out, r.err, want)
	}
	h.open()
	if r := memoRecv(t, first); r.err != nil || !reflect.DeepEqual(r.out, []any{int64(1)}) {
		t.Fatalf("populator got %+v", r)
	}
}

// TestMemoizeTakeOver follows upstream's test_memoize_blocked.
func TestMemoizeTakeOver(t *testing.T) {
	h := newMemoHarness(t, `
local f = kumo.memoize(function() h.block_once(); return h.count() end,
  { name = 'user.blocked', ttl = '1h', capacity = 4, populate_timeout = '2s' })
kumo.on('main', function() return f() end)
`)
	first := h.goFire(context.Background())
	memoWaitFor(t, "first populator", func() bool { return h.blocked.Load() == 1 })

	second := h.goFire(context.Background())
	memoWaitFor(t, "second caller waiting", func() bool { return h.clock.Timers() == 1 })
	h.clock.Advance(2 * time.Second)
	if r := memoRecv(t, second); r.err == nil || !strings.Contains(r.err.Error(), "timed out after 2s on semaphore acquire while waiting for cache to populate") {
		t.Fatalf("second caller got %+v", r)
	}

	// The first populator is past its deadline: a new caller takes over.
	wantValues(t, h.mustFire(), int64(1))
	wantValues(t, h.mustFire(), int64(1)) // a hit

	h.open()
	if r := memoRecv(t, first); r.err != nil || !reflect.DeepEqual(r.out, []any{int64(2)}) {
		t.Fatalf("first caller got %+v", r)
	}
	wantValues(t, h.mustFire(), int64(2)) // the last write won
}

func TestMemoizeErrorsAreCached(t *testing.T) {
	h := newMemoHarness(t, `
local f = kumo.memoize(function(which)
  h.count()
  if which == 'fn' then return function() end end
  if which == 'key' then return { [true] = 1 } end
  if which == 'float' then return { [1.5] = 1 } end
  if which == 'plain' then return h.make_plain() end
  error('boom')
end, { name = 'user.errors', ttl = '1h', capacity = 10 })
kumo.on('main', function(which)
  local ok, err = pcall(f, which)
  return tostring(err)
end)
`)
	first := h.mustFire("raise")[0].(string)
	if !strings.HasSuffix(first, "test_policy.lua:10: boom") {
		t.Fatalf("error = %q", first)
	}
	sb := h.state() // another state sees the same cached error
	wantValues(t, memoFireIn(t, sb, "raise"), first)
	h.clock.Advance(59 * time.Second)
	wantValues(t, h.mustFire("raise"), first)
	if h.count.Load() != 1 {
		t.Fatalf("populations within 60 s = %d, want 1", h.count.Load())
	}
	h.clock.Advance(time.Second)
	h.mustFire("raise")
	if h.count.Load() != 2 {
		t.Fatalf("populations after 60 s = %d, want 2", h.count.Load())
	}

	// Results that cannot be stored fail (and are cached) too.
	for which, want := range map[string]string{
		"fn":    "cannot memoize a function value",
		"key":   "table key Boolean(true) cannot be used as a key in a memoizable table",
		"float": "table key Number(1.5) cannot be used as a key in a memoizable table",
		"plain": "cannot memoize a userdata value (memotest.Plain): it does not support memoization",
	} {
		before := h.count.Load()
		for i := 0; i < 2; i++ {
			if got := h.mustFire(which)[0].(string); !strings.Contains(got, want) {
				t.Errorf("%s: error %q, want %q", which, got, want)
			}
		}
		if h.count.Load() != before+1 {
			t.Errorf("%s: populations = %d, want 1", which, h.count.Load()-before)
		}
	}
}

func TestMemoizeRetryOnPopulateTimeout(t *testing.T) {
	for _, retry := range []bool{false, true} {
		t.Run(fmt.Sprint("retry=", retry), func(t *testing.T) {
			h := newMemoHarness(t, fmt.Sprintf(`
local f = kumo.memoize(function() h.block_once(); return h.count() end,
  { name = 'user.retry', ttl = '1h', capacity = 4, populate_timeout = '1s', retry_on_populate_timeout = %v })
kumo.on('main', function() return f() end)
`, retry))
			first := h.goFire(context.Background())
			memoWaitFor(t, "populator", func() bool { return h.blocked.Load() == 1 })
			waiter := h.goFire(context.Background())
			memoWaitFor(t, "waiter", func() bool { return h.clock.Timers() == 1 })
			h.clock.Advance(time.Second)
			r := memoRecv(t, waiter)
			if retry {
				// The second attempt finds the populator past its deadline
				// and populates itself.
				if r.err != nil || !reflect.DeepEqual(r.out, []any{int64(1)}) {
					t.Fatalf("waiter got %+v", r)
				}
			} else if r.err == nil || !strings.Contains(r.err.Error(), "timed out after 1s") {
				t.Fatalf("waiter got %+v", r)
			}
			h.open()
			memoRecv(t, first)
		})
	}
}

func TestMemoizeAllowStaleReads(t *testing.T) {
	h := newMemoHarness(t, `
local f = kumo.memoize(function()
  local n = h.count()
  if n > 1 then h.block() end
  return 'v' .. n
end, { name = 'user.stale', ttl = '10s', capacity = 4, populate_timeout = '1s',
       allow_stale_reads = true, invalidate_with_epoch = true })
kumo.on('main', function() return f() end)
`)
	wantValues(t, h.mustFire(), "v1")
	h.clock.Advance(11 * time.Second)
	refresher := h.goFire(context.Background())
	memoWaitFor(t, "refresh", func() bool { return h.blocked.Load() == 1 })
	waiter := h.goFire(context.Background())
	memoWaitFor(t, "waiter", func() bool { return h.clock.Timers() == 1 })
	h.clock.Advance(time.Second)
	if r := memoRecv(t, waiter); r.err != nil || !reflect.DeepEqual(r.out, []any{"v1"}) {
		t.Fatalf("waiter got %+v, want the stale v1", r)
	}
	h.open()
	if r := memoRecv(t, refresher); r.err != nil || !reflect.DeepEqual(r.out, []any{"v2"}) {
		t.Fatalf("refresher got %+v", r)
	}
	wantValues(t, h.mustFire(), "v2")
	h.rt.BumpEpoch() // not part of the key with allow_stale_reads
	wantValues(t, h.mustFire(), "v2")
}

func TestMemoizeInvalidateWithEpoch(t *testing.T) {
	h := newMemoHarness(t, `
local e = kumo.memoize(function() return h.count() end, { name = 'user.epoch', ttl = '1h', capacity = 4, invalidate_with_epoch = true })
local p = kumo.memoize(function() return -h.count() end, { name = 'user.plain', ttl = '1h', capacity = 4 })
kumo.on('main', function() return e(), p() end)
`)
	wantValues(t, h.mustFire(), int64(1), int64(-2))
	wantValues(t, h.mustFire(), int64(1), int64(-2))
	h.rt.BumpEpoch()
	wantValues(t, h.mustFire(), int64(3), int64(-2))
	wantValues(t, h.mustFire(), int64(3), int64(-2))
	if n := h.cache("user.epoch").Len(); n != 2 {
		t.Fatalf("entries = %d: the old epoch's entry should age out, not vanish", n)
	}
}

func TestMemoizeWaiterContextCancelled(t *testing.T) {
	h := newMemoHarness(t, `
local f = kumo.memoize(function() h.block(); return 'done' end, { name = 'user.cancel', ttl = '1h', capacity = 4 })
kumo.on('main', function() return f() end)
`)
	first := h.goFire(context.Background())
	memoWaitFor(t, "populator", func() bool { return h.blocked.Load() == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	waiter := h.goFire(ctx)
	memoWaitFor(t, "waiter", func() bool { return h.cache("user.cancel").Stats().Waits == 1 })
	cancel()
	select {
	case r := <-waiter:
		if !errors.Is(r.err, context.Canceled) {
			t.Fatalf("waiter got %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the context did not end the wait")
	}
	h.open()
	if r := memoRecv(t, first); r.err != nil || !reflect.DeepEqual(r.out, []any{"done"}) {
		t.Fatalf("populator got %+v", r)
	}
}

func TestMemoizeParams(t *testing.T) {
	h := newMemoHarness(t, `
local function f() return 1 end
local function e(p) local ok, err = pcall(kumo.memoize, f, p); return ok and '<no error>' or tostring(err) end
kumo.on('main', function()
  return {
    unknown = e({ name = 'user.p', ttl = '1m', capacity = 1, bogus = true }),
    missing = e({ name = 'user.p', capacity = 1 }),
    bad_ttl = e({ name = 'user.p', ttl = '5 parsecs', capacity = 1 }),
    ttl_type = e({ name = 'user.p', ttl = true, capacity = 1 }),
    bad_timeout = e({ name = 'user.p', ttl = '1m', capacity = 1, populate_timeout = 'soon' }),
    negative = e({ name = 'user.p', ttl = '1m', capacity = -1 }),
    bool_type = e({ name = 'user.p', ttl = '1m', capacity = 1, allow_stale_reads = 'yes' }),
    not_table = e(nil),
    builtin = e({ name = 'dns_resolver_mx', ttl = '1m', capacity = 1 }),
    numeric = e({ name = 'user.p', ttl = 60, capacity = 1, populate_timeout = 0.5 }),
  }
end)
`)
	r := h.mustFire()[0].(map[string]any)
	wants := map[string]string{
		"unknown": "deserialize error: unknown field `bogus`, expected one of `ttl`, `capacity`, `name`, `invalidate_with_epoch`, " +
			"`retry_on_populate_timeout`, `populate_timeout`, `allow_stale_reads`, while processing {\"bogus\":true,\"capacity\":1,\"name\":\"user.p\",\"ttl\":\"1m\"}",
		"missing":     "missing field `ttl`",
		"bad_ttl":     `deserialize error: ttl: invalid value: string "5 parsecs", expected a duration, while processing {`,
		"ttl_type":    "ttl: invalid type: boolean `true`, expected a duration",
		"bad_timeout": `populate_timeout: invalid value: string "soon", expected a duration`,
		"negative":    "capacity: invalid value: integer `-1`, expected usize",
		"bool_type":   `allow_stale_reads: invalid type: string "yes", expected a boolean`,
		"not_table":   "deserialize error: invalid type: nil, expected a table of parameters, while processing null",
		"builtin": "cannot use name `dns_resolver_mx` for a memoize cache, as it collides with a built-in cache. " +
			"Suggestion: prefix your cache name with `user.` to avoid conflicts with current and future caches.",
		"numeric": "<no error>",
	}
	for k, w := range wants {
		if got, _ := r[k].(string); !strings.Contains(got, w) {
			t.Errorf("%s: got %q, want it to contain %q", k, got, w)
		}
	}
	p := h.cache("user.p").Params()
	if p.TTL != time.Minute || !p.PopulateTimeoutSet || p.PopulateTimeout != 500*time.Millisecond {
		t.Errorf("numeric durations: %+v", p)
	}
}

func TestMemoizeUserdataOptIn(t *testing.T) {
	h := newMemoHarness(t, `
local mk = kumo.memoize(function(n) h.count(); return h.make_obj(n) end, { name = 'user.obj', ttl = '1h', capacity = 4 })
local nest = kumo.memoize(function() return { obj = h.make_obj(1), list = { h.make_obj(2) } } end, { name = 'user.nest', ttl = '1h', capacity = 4 })
kumo.on('main', function()
  local a, b = mk(7), mk(7)
  h.keep(a)
  local t = nest()
  return type(a), a:get(), b:get(), rawequal(a, b), h.same_object(a, b), t.obj:get() + t.list[1]:get(), h.get_count()
end)
`)
	sa, sb := h.state(), h.state()
	wantValues(t, memoFireIn(t, sa, nil), "userdata", int64(7), int64(7), false, true, int64(3), int64(1))
	// Another state gets its own userdata around the same Go object.
	wantValues(t, memoFireIn(t, sb, nil), "userdata", int64(7), int64(7), false, true, int64(3), int64(1))
	kept := h.keptValues()
	if len(kept) != 2 {
		t.Fatalf("kept %d values, want 2", len(kept))
	}
	if _, ok := kept[0].(*memoTestObj); !ok {
		t.Fatalf("kept a %T, want *memoTestObj", kept[0])
	}
	if kept[0] != kept[1] {
		t.Errorf("the two states' userdata wrap different Go objects: %p and %p", kept[0], kept[1])
	}
}

// BenchmarkMemoizeHit20Keys and BenchmarkLuaBuild20Keys compare a memoize
// hit that returns a 20-field table with building the same table in Lua.
// Both loops run in Lua.
func BenchmarkMemoizeHit20Keys(b *testing.B) { memoBench(b, "bench_hit") }

func BenchmarkLuaBuild20Keys(b *testing.B) { memoBench(b, "bench_build") }

const memoBenchPolicy = `
local function build(domain)
  return {
    connection_limit = 10, max_connection_rate = '100/min', max_deliveries_per_connection = 100,
    max_message_rate = '50/s', enable_tls = 'Opportunistic', enable_mta_sts = true, enable_dane = false,
    idle_timeout = '60s', data_timeout = '30s', data_dot_timeout = '60s', connect_timeout = '60s',
    banner_timeout = '60s', ehlo_timeout = '300s', mail_from_timeout = '300s', rcpt_to_timeout = '300s',
    starttls_timeout = '5s', rset_timeout = '5s', max_ready = 1024,
    consecutive_connection_failures_before_delay = 100, domain = domain,
  }
end
local cached = kumo.memoize(build, { name = 'user.bench', ttl = '1h', capacity = 16 })
function bench_hit(n) for i = 1, n do local t = cached('example.com') end end
function bench_build(n) for i = 1, n do local t = build('example.com') end end
function check()
  local t = cached('example.com')
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end
`

func memoBench(b *testing.B, fn string) {
	rt := luart.New(luart.Options{PolicyFile: "bench.lua", PolicySource: []byte("local kumo = require 'kumo'\n" + memoBenchPolicy), SystemRoots: []string{}})
	kumo.Install(rt, kumo.Services{})
	defer rt.Close()
	s, err := rt.NewStandaloneState()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	L := s.L
	if err := L.CallByParam(lua.P{Fn: L.GetGlobal("check"), NRet: 1, Protect: true}); err != nil {
		b.Fatal(err)
	}
	if n := L.Get(-1); n != lua.LNumber(20) {
		b.Fatalf("table has %v fields, want 20", n)
	}
	L.Pop(1)
	b.ReportAllocs()
	b.ResetTimer()
	if err := L.CallByParam(lua.P{Fn: L.GetGlobal(fn), NRet: 0, Protect: true}, lua.LNumber(b.N)); err != nil {
		b.Fatal(err)
	}
}

func TestMemoizePopulatorKeepsItsErrorObject(t *testing.T) {
	h := newMemoHarness(t, `
local f = kumo.memoize(function() h.count(); kumo.reject(421, 'later') end, { name = 'user.reject', ttl = '1h', capacity = 4 })
kumo.on('main', function() return f() end)
`)
	// The populating call re-raises the original error value...
	_, err := h.fire(context.Background())
	if re, ok := kumo.AsReject(err); !ok || re.Code != 421 {
		t.Fatalf("populator error = %T %v, want the RejectError", err, err)
	}
	// ...later calls get the cached error's text.
	_, err = h.fire(context.Background())
	if err == nil || !strings.Contains(err.Error(), "421 later") || h.count.Load() != 1 {
		t.Fatalf("cached error = %v (populations %d)", err, h.count.Load())
	}
}
