package luart_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kumopolicy/kumopolicy/luart"
)

// Tracebacks read like Lua 5.4's (compare lua5.4 running the same code
// under xpcall(handler, debug.traceback)): the handler, called by the
// host, is "function <file:line>", and only a real top-level chunk is
// "main chunk".
func TestTracebackLabelsLikeLua54(t *testing.T) {
	rt, _ := newRT(t, `local kumo = require 'kumo'
local function helper(x)
  error('bad ' .. x)
end
function glob(x) helper(x) end
local t = {}
function t.fld(x) glob(x) end
function t:meth(x) t.fld(x) end
local function up() t:meth('y') end
kumo.on('main', function()
  up()
end)
local function tail() return helper('z') end
kumo.on('tail', function() return tail() end)
`, luart.Options{})
	_, _, err := rt.Fire(context.Background(), "main")
	var le *luart.LuaError
	if !errors.As(err, &le) {
		t.Fatalf("got %T %v", err, err)
	}
	want := `stack traceback:
	[C]: in function 'error'
	policy.lua:3: in upvalue 'helper'
	policy.lua:5: in function 'glob'
	policy.lua:7: in field 'fld'
	policy.lua:8: in method 'meth'
	policy.lua:9: in upvalue 'up'
	policy.lua:11: in function <policy.lua:10>
	[C]: in ?`
	if le.Traceback != want {
		t.Fatalf("traceback:\n%s\nwant:\n%s", le.Traceback, want)
	}

	_, _, err = rt.Fire(context.Background(), "tail")
	if !errors.As(err, &le) {
		t.Fatalf("got %T %v", err, err)
	}
	want = `stack traceback:
	[C]: in function 'error'
	policy.lua:3: in function <policy.lua:2>
	(...tail calls...)
	[C]: in ?`
	if le.Traceback != want {
		t.Fatalf("tail-call traceback:\n%s\nwant:\n%s", le.Traceback, want)
	}
}

func TestTracebackTopLevelIsMainChunk(t *testing.T) {
	rt, _ := newRT(t, "local x = 1\nlocal function check(v) assert(v == 2, 'nope') end\ncheck(x)\n", luart.Options{})
	_, _, err := rt.Fire(context.Background(), "main")
	var le *luart.LuaError
	if !errors.As(err, &le) {
		t.Fatalf("got %T %v", err, err)
	}
	want := `stack traceback:
	[C]: in function 'assert'
	policy.lua:2: in local 'check'
	policy.lua:3: in main chunk
	[C]: in ?`
	if le.Traceback != want {
		t.Fatalf("traceback:\n%s\nwant:\n%s", le.Traceback, want)
	}
}

// kumo.traceback reports a tail-called frame once, marked as a tail call,
// and says how a named function was reached.
func TestTracebackTableTailCallsAndNameWhat(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
local function inner() return kumo.traceback(0) end
local function viaTail() return inner() end
kumo.on('main', function()
  local tb = viaTail()
  local out = {}
  for _, f in ipairs(tb) do
    out[#out + 1] = (f.name or '-') .. '/' .. (f.name_what or '-') .. '/' .. tostring(f.is_tail_call)
  end
  return table.concat(out, ' ')
end)
`, luart.Options{})
	out, _ := fire(t, rt, "main")
	if want := "traceback/field/false -/-/true -/-/false"; out[0] != want {
		t.Fatalf("frames %q, want %q", out[0], want)
	}
}

// Recording tracebacks must not change how errors caught by pcall close
// upvalues: a closure made in the failed function keeps its own value.
func TestTracebackKeepsPcallUpvaluesClosed(t *testing.T) {
	rt, _ := newRT(t, `
require('kumo').on('main', function()
  local saved
  pcall(function()
    local x = 'captured'
    saved = function() return x end
    error('e')
  end)
  local a, b, c, d = 'clobber1', 'clobber2', 'clobber3', 'clobber4'
  local function f(p, q, r, s) local z = 'deep' return saved() end
  return saved(), f(1, 2, 3, 4)
end)
`, luart.Options{})
	out, _ := fire(t, rt, "main")
	if out[0] != "captured" || out[1] != "captured" {
		t.Fatalf("upvalue of a function unwound by pcall was clobbered: %v", out)
	}
}
