package luart

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestRewriteEscapes(t *testing.T) {
	cases := []struct{ src, want string }{
		{`return "a\x41b"`, "aAb"},
		{`return 'tab\x09x'`, "tab\tx"},
		{`return "\u{48}\u{E9}\u{20AC}"`, "Hé€"},
		{`return "a\z    b"`, "ab"},
		{`return "keep\\x41"`, `keep\x41`},
		{`return [[\x41]]`, `\x41`},
		{"-- \\x41 in a comment\nreturn '\\x42'", "B"},
		{"--[==[ \\x41 ]==] return '\\x43'", "C"},
		{`return "\65\066"`, "AB"},
		{`return "no escapes"`, "no escapes"},
	}
	for _, c := range cases {
		proto, err := compileSource([]byte(c.src), "t.lua")
		if err != nil {
			t.Errorf("%s: %v", c.src, err)
			continue
		}
		L := lua.NewState()
		L.Push(L.NewFunctionFromProto(proto))
		L.Call(0, 1)
		if got := L.Get(-1).String(); got != c.want {
			t.Errorf("%s = %q, want %q", c.src, got, c.want)
		}
		L.Close()
	}
}

func TestRewriteEscapesKeepsLineNumbers(t *testing.T) {
	src := "local a = '\\x41'\nlocal b = [[\n\\x41\n]]\nerror('here')\n"
	proto, err := compileSource([]byte(src), "t.lua")
	if err != nil {
		t.Fatal(err)
	}
	L := lua.NewState()
	defer L.Close()
	L.Push(L.NewFunctionFromProto(proto))
	err = L.PCall(0, 0, nil)
	if err == nil || !strings.Contains(err.Error(), "t.lua:5: here") {
		t.Fatalf("line numbers shifted: %v", err)
	}
}

func TestRewriteEscapesErrors(t *testing.T) {
	for _, src := range []string{`return "\xZZ"`, `return "\u{}"`, "return 'a\\z\n b'"} {
		if _, err := compileSource([]byte(src), "t.lua"); err == nil {
			t.Errorf("%q compiled", src)
		} else if !strings.HasPrefix(err.Error(), "t.lua:1:") {
			t.Errorf("%q: error lacks position: %v", src, err)
		}
	}
}
