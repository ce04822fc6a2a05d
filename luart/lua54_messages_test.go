package luart_test

import (
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/luart"
)

// assert raises its message as Lua 5.4 does (error(msg, 1)): a string gets
// the calling Lua code's position, other values and pcall(assert, ...) do
// not. Each expected value is what lua5.4 prints for the same code.
func TestAssertMessagesAreLua54s(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local out = {}
  local function add(ok, err) out[#out + 1] = tostring(err) end
  add(pcall(assert, false, 'direct'))
  add(pcall(function() assert(1 == 2, 'inner') end))
  add(pcall(function() assert(false) end))
  add(pcall(function() assert(false, 42) end))
  add(pcall(function() assert(false, '%d %s') end))
  return table.concat(out, '|')
end)
`, luart.Options{})
	out, _ := fire(t, rt, "main")
	want := "direct|policy.lua:7: inner|policy.lua:8: assertion failed!|42|policy.lua:10: %d %s"
	if out[0] != want {
		t.Errorf("got  %v\nwant %s", out[0], want)
	}
}

// A module that cannot be found is reported as Lua 5.4 words it, without
// gopher-lua's trailing ", "; the TSA daemon's module says whose it is.
func TestModuleNotFoundMessage(t *testing.T) {
	rt, _ := newRT(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local _, a = pcall(require, 'no.such.module')
  local _, b = pcall(require, 'tsa')
  local _, c = pcall(function() require 'no.such.module' end)
  return a, b, c
end)
`, luart.Options{})
	out, _ := fire(t, rt, "main")
	a, b, c := out[0].(string), out[1].(string), out[2].(string)
	// Called from Lua code, the message starts with its position.
	if !strings.HasPrefix(c, "policy.lua:6: module 'no.such.module' not found:") {
		t.Errorf("from Lua code:\n%q", c)
	}
	if !strings.HasPrefix(a, "module 'no.such.module' not found:\n\tno field package.preload['no.such.module']\n\tno file ") || strings.HasSuffix(a, ", ") || strings.Contains(a, "\n\t\n") {
		t.Errorf("message:\n%q", a)
	}
	if !strings.Contains(b, "module 'tsa' not found:") || !strings.HasSuffix(b, "run it with `kumopolicy tsa-daemon`)") {
		t.Errorf("tsa message:\n%s", b)
	}
}
