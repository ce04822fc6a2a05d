package luart_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"github.com/kumopolicy/kumopolicy/luart"
)

// testdata/lua54/NAME.lua are chunks whose result (a string) must be the
// same on kumopolicy as on Lua 5.4; NAME.want holds lua5.4's answer. Each
// runs on kumopolicy at the top level of a policy and inside an event
// handler (where the host's own protected call is pending), and on lua5.4,
// always one line below a wrapper line, with the chunk named NAME.lua.
//
// They cover what gopher-lua got wrong and kumopolicy fixes: upvalues of
// frames around a caught error (third_party/gopher-lua), error levels,
// xpcall's arguments (luart/compat.go).
func lua54Cases(t *testing.T) map[string][2]string {
	files, err := filepath.Glob("testdata/lua54/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/lua54 cases: %v", err)
	}
	cases := map[string][2]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(strings.TrimSuffix(f, ".lua") + ".want")
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(f)] = [2]string{string(src), string(want)}
	}
	return cases
}

func TestLua54Behaviours(t *testing.T) {
	for name, c := range lua54Cases(t) {
		src, want := c[0], c[1]
		t.Run(name, func(t *testing.T) {
			for where, policy := range map[string]string{
				"top level": "local __r = (function()\n" + src + "\nend)() require('kumo').on('main', function() return __r end)\n",
				"handler":   "require('kumo').on('main', function() return (function()\n" + src + "\nend)() end)\n",
			} {
				rt := luart.New(luart.Options{PolicyFile: name, PolicySource: []byte(policy), SystemRoots: []string{}})
				rt.AddModule("kumo", testModule(nil))
				out, _, err := rt.Fire(context.Background(), "main")
				rt.Close()
				if err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				if out[0] != want {
					t.Errorf("%s:\n got %v\nwant %s", where, out[0], want)
				}
			}
		})
	}
}

// The .want files are lua5.4's own answers.
func TestLua54BehavioursExpectations(t *testing.T) {
	lua54 := sharedref.Tool(t, "lua5.4")
	runner := `local name, src = arg[1], io.read('a')
local f = assert(load('local __r = (function()\n' .. src .. '\nend)() return __r', '@' .. name))
io.write(f())`
	for name, c := range lua54Cases(t) {
		cmd := exec.Command(lua54, "-e", runner, "-", name)
		cmd.Stdin = strings.NewReader(c[0])
		got, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("lua5.4 %s: %v\n%s", name, err, got)
		}
		if string(got) != c[1] {
			t.Errorf("%s: lua5.4 says %q, %s.want says %q", name, got, strings.TrimSuffix(name, ".lua"), c[1])
		}
	}
}
