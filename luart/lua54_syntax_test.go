package luart_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/luart"
)

// A policy that breaks a Lua 5.4 rule the compiler checks fails to load
// with lua5.4's message and position ("file:line: message").
func TestPolicyCompileErrorsAreLua54s(t *testing.T) {
	for src, want := range map[string]string{
		"local x <const> = 1\nx = 2\n":                          "policy.lua:2: attempt to assign to const variable 'x'",
		"local x <const> = 1\nlocal function f()\n x = 2 end\n": "policy.lua:3: attempt to assign to const variable 'x'",
		"local y <global> = 1\n":                                "policy.lua:1: unknown attribute 'global'",
		"local a <close>, b <close> = nil, nil\n":               "policy.lua:1: multiple to-be-closed variables in local list",
	} {
		rt, _ := newRT(t, src+"require('kumo').on('main', function() end)\n", luart.Options{})
		_, _, err := rt.Fire(context.Background(), "main")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", src, err, want)
		}
	}
}

// An error that leaves an event handler closes the handler's <close>
// variables with the error, and the state stays usable: the next event
// neither sees nor closes them again.
func TestCloseOnErrorLeavingHandler(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
closed = {}
local function closer(name)
  return setmetatable({}, { __close = function(_, err) closed[#closed + 1] = name .. ':' .. tostring(err) end })
end
kumo.on('fail', function()
  local a <close> = closer('a')
  local b <close> = closer('b')
  error('handler failed', 0)
end)
kumo.on('check', function()
  do local c <close> = closer('c') end
  return table.concat(closed, ',')
end)
`, luart.Options{MaxStates: 1}) // one state: both events see the same globals
	_, _, err := rt.Fire(context.Background(), "fail")
	if err == nil || !strings.Contains(err.Error(), "handler failed") {
		t.Fatalf("fail: %v", err)
	}
	out, _ := fire(t, rt, "check")
	if want := "b:handler failed,a:handler failed,c:nil"; out[0] != want {
		t.Errorf("closed %v, want %s", out[0], want)
	}
}
