package luart_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kumopolicy/kumopolicy/luart"
)

// withWatchdog runs fn, failing the test if it has not returned after a
// while: without a working timeout the Lua code below spins forever.
// Closing the runtime stops code that runs under the runtime's context.
func withWatchdog(t *testing.T, rt *luart.Runtime, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		rt.Close()
		t.Fatal("runaway Lua code was not cancelled by Options.Timeout")
		return nil
	}
}

func wantTimeout(t *testing.T, err error, phase string) *luart.TimeoutError {
	t.Helper()
	var te *luart.TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a TimeoutError, got %T %v", err, err)
	}
	if te.Phase != phase || !strings.Contains(err.Error(), phase+" did not finish within 50ms; it was cancelled") {
		t.Fatalf("timeout should name %q and the limit: %v", phase, err)
	}
	return te
}

// Each handler call gets Options.Timeout of its own, without any deadline
// on the caller's context; pcall cannot swallow the cancellation, and the
// state is retired.
func TestTimeoutBoundsEachHandlerCall(t *testing.T) {
	rt, builds := newRT(t, `
local kumo = require 'kumo'
kumo.on('spin', function()
  pcall(function() while true do end end)
  return 'survived'
end)
kumo.on('fine', function() return 'fine' end)
`, luart.Options{MaxStates: 1, Timeout: 50 * time.Millisecond})
	err := withWatchdog(t, rt, func() error {
		_, _, err := rt.Fire(context.Background(), "spin")
		return err
	})
	te := wantTimeout(t, err, "event 'spin' handler")
	if te.Event != "spin" || te.Limit != 50*time.Millisecond {
		t.Fatalf("timeout fields: %+v", te)
	}
	if !strings.Contains(te.Traceback, "in function <policy.lua:3>") {
		t.Fatalf("timeout traceback should show where the handler was stopped: %q", te.Traceback)
	}
	if st := rt.PoolStats(); st.Live != 0 || st.Idle != 0 {
		t.Fatalf("cancelled state not retired: %+v", st)
	}
	for range 2 {
		if out, _ := fire(t, rt, "fine"); out[0] != "fine" {
			t.Fatalf("got %v", out)
		}
	}
	if builds.Load() != 2 {
		t.Fatalf("want a fresh state after the cancelled one, then reuse; built %d", builds.Load())
	}
}

func TestTimeoutCancelsTopLevelLoop(t *testing.T) {
	rt, _ := newRT(t, "local n = 0\nwhile true do n = n + 1 end\n", luart.Options{Timeout: 50 * time.Millisecond})
	err := withWatchdog(t, rt, func() error {
		_, _, err := rt.Fire(context.Background(), "main")
		return err
	})
	te := wantTimeout(t, err, "top-level chunk")
	if !strings.HasPrefix(err.Error(), "loading policy.lua: top-level chunk did not finish within 50ms") {
		t.Fatalf("error should say the policy's top level ran out: %v", err)
	}
	if !strings.Contains(te.Traceback, "policy.lua:2: in main chunk") {
		t.Fatalf("traceback: %q", te.Traceback)
	}
	if st := rt.PoolStats(); st.Live != 0 {
		t.Fatalf("cancelled state kept: %+v", st)
	}
}

// A module required at load time gets its own budget; a loop in it is
// cancelled and named, even when the policy wraps the require in pcall.
func TestTimeoutCancelsLoopInRequiredModule(t *testing.T) {
	emb := fstest.MapFS{"spin.lua": {Data: []byte("local n = 0\nwhile true do n = n + 1 end\nreturn n\n")}}
	for _, policy := range []string{
		"require 'spin'\n",
		"local ok = pcall(require, 'spin')\nrequire('kumo').on('main', function() return 'survived' end)\n",
	} {
		rt, _ := newRT(t, policy, luart.Options{Embedded: emb, Timeout: 50 * time.Millisecond})
		err := withWatchdog(t, rt, func() error {
			_, _, err := rt.Fire(context.Background(), "main")
			return err
		})
		te := wantTimeout(t, err, "require 'spin' ([embedded]/spin.lua)")
		if !strings.HasPrefix(err.Error(), "loading policy.lua: require 'spin'") {
			t.Fatalf("error should name the policy and the module: %v", err)
		}
		if !strings.Contains(te.Traceback, "[embedded]/spin.lua:2: in main chunk") || !strings.Contains(te.Traceback, "in function 'require'") {
			t.Fatalf("traceback should show the module's loop: %q", te.Traceback)
		}
		if st := rt.PoolStats(); st.Live != 0 {
			t.Fatalf("cancelled state kept: %+v", st)
		}
	}
}

// Inside a handler, a require runs within the handler's budget.
func TestTimeoutRequireInsideHandlerUsesHandlerBudget(t *testing.T) {
	emb := fstest.MapFS{"spin.lua": {Data: []byte("while true do end\n")}}
	rt, _ := newRT(t, "require('kumo').on('main', function() require 'spin' end)\n",
		luart.Options{Embedded: emb, Timeout: 50 * time.Millisecond})
	err := withWatchdog(t, rt, func() error {
		_, _, err := rt.Fire(context.Background(), "main")
		return err
	})
	wantTimeout(t, err, "event 'main' handler")
}

// A module that loads within its budget is required normally, and its
// value is cached in package.loaded as before.
func TestTimeoutRequireKeepsLua51Semantics(t *testing.T) {
	emb := fstest.MapFS{
		"m.lua":    {Data: []byte("count = (count or 0) + 1\nreturn { n = count }\n")},
		"none.lua": {Data: []byte("x = 1\n")},
		"bad.lua":  {Data: []byte("error('bad module')\n")},
	}
	rt, _ := newRT(t, `
local a = require 'm'
local b = require 'm'
local ok, err = pcall(require, 'bad')
local ok2, err2 = pcall(require, 'bad')
require('kumo').on('main', function()
  return a == b, a.n, require 'none', ok, err, err2, package.loaded.m == a
end)
`, luart.Options{Embedded: emb, Timeout: time.Minute})
	out, _ := fire(t, rt, "main")
	want := []any{true, int64(1), true, false, "[embedded]/bad.lua:1: bad module", "policy.lua:5: loop or previous error loading module: bad", true}
	for i, w := range want {
		if out[i] != w {
			t.Errorf("result %d = %#v, want %#v", i, out[i], w)
		}
	}
}
