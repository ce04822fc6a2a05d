package luart_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"github.com/kumopolicy/kumopolicy/luart"
)

// upvaluesWant is what lua5.4 prints for testdata/upvalues.lua.
const upvaluesWant = "1 1 captured 5 h:ab 5 3"

// Caught errors close the upvalues of exactly the frames they unwind, as in
// Lua 5.4 (kumopolicy's gopher-lua change, third_party/gopher-lua): live
// frames keep sharing their locals with their closures, and closures made
// in unwound frames keep those frames' values. Also xpcall's extra
// arguments. Run inside an event handler, where the host's own protected
// call (with its traceback handler) is pending too.
func TestCaughtErrorsKeepUpvalues(t *testing.T) {
	src, err := os.ReadFile("testdata/upvalues.lua")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(string(src), "\n", "\n  ")
	rt, _ := newRT(t, "require('kumo').on('main', function()\n  "+body+"\nend)\n", luart.Options{})
	out, _ := fire(t, rt, "main")
	if out[0] != upvaluesWant {
		t.Errorf("in a handler: got %q, want %q", out[0], upvaluesWant)
	}
	// At the top level of a policy too.
	rt2, _ := newRT(t, "local kumo = require 'kumo'\nlocal r = (function()\n"+string(src)+"\nend)()\nkumo.on('main', function() return r end)\n", luart.Options{})
	out, _ = fire(t, rt2, "main")
	if out[0] != upvaluesWant {
		t.Errorf("at top level: got %q, want %q", out[0], upvaluesWant)
	}
}

// The expected string is lua5.4's own answer.
func TestUpvaluesExpectationIsLua54s(t *testing.T) {
	lua54 := sharedref.Tool(t, "lua5.4")
	src, err := os.ReadFile("testdata/upvalues.lua")
	if err != nil {
		t.Fatal(err)
	}
	script := "local r = (function()\n" + string(src) + "\nend)()\nio.write(r)\n"
	got, err := exec.Command(lua54, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("lua5.4: %v\n%s", err, got)
	}
	if string(got) != upvaluesWant {
		t.Errorf("lua5.4 says %q, the test expects %q", got, upvaluesWant)
	}
}
