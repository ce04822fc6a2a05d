package kumo

import (
	"context"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// TestNotYetSupportedListsOnlyMissingFunctions keeps notYetSupported to
// the functions no opener provides: when a function is implemented, its
// name must leave the list.
func TestNotYetSupportedListsOnlyMissingFunctions(t *testing.T) {
	rt := luart.New(luart.Options{PolicyFile: "p.lua", PolicySource: []byte("local kumo = require 'kumo'"), SystemRoots: []string{}})
	defer rt.Close()
	Install(rt, Services{})
	err := rt.Call(context.Background(), func(s *luart.State) error {
		L := s.L
		if err := L.DoString("return require 'kumo'"); err != nil {
			return err
		}
		mod := L.Get(-1).(*lua.LTable)
		for _, name := range notYetSupported {
			var v lua.LValue = mod
			for _, part := range strings.Split(name, ".") {
				v = L.GetField(v, part)
			}
			fn, ok := v.(*lua.LFunction)
			if !ok {
				t.Errorf("kumo.%s is %s, not a function", name, v.Type())
				continue
			}
			err := L.CallByParam(lua.P{Fn: fn, NRet: 0, Protect: true})
			if err == nil || !strings.Contains(err.Error(), "kumo."+name+" is not supported by kumopolicy yet") {
				t.Errorf("kumo.%s is provided now (%v): remove it from notYetSupported", name, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
