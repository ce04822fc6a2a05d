package kumo_test

import (
	"context"
	"testing"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
)

// newRuntime builds a runtime with the kumo module and src as the policy.
func newRuntime(t testing.TB, src string) *luart.Runtime {
	t.Helper()
	rt, _ := newRuntimeWith(t, src, kumo.Services{})
	return rt
}

// newRuntimeWith is newRuntime with the given services; it returns them
// completed by kumo.Install.
func newRuntimeWith(t testing.TB, src string, svc kumo.Services) (*luart.Runtime, *kumo.Services) {
	t.Helper()
	rt := luart.New(luart.Options{PolicyFile: "test_policy.lua", PolicySource: []byte(src), SystemRoots: []string{}})
	installed := kumo.Install(rt, svc)
	t.Cleanup(func() { rt.Close() })
	return rt, installed
}

// runMain runs src as a policy and fires its `main` handler, failing the
// test with the Lua error if it raises.
func runMain(t testing.TB, src string) []any {
	t.Helper()
	rt := newRuntime(t, src)
	out, handled, err := rt.Fire(context.Background(), "main")
	if err != nil {
		t.Fatalf("main: %v", err)
	}
	if !handled {
		t.Fatalf("policy registered no main handler")
	}
	return out
}

func TestHarnessSmoke(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function() return 1 + 2, 'x' end)
`)
	if len(out) != 2 || out[0] != int64(3) || out[1] != "x" {
		t.Fatalf("got %#v", out)
	}
}

// testingRuntime wraps a runtime with a Fire that fails the test on error.
type testingRuntime struct{ rt *luart.Runtime }

func (r *testingRuntime) mustFire(t testing.TB, event string, args ...any) []any {
	t.Helper()
	out, _, err := r.rt.Fire(context.Background(), event, args...)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	return out
}
