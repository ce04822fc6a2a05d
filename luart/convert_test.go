package luart_test

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Describe names a Lua value as plain.Describe names what ToGo makes of
// it, so errors read the same whether a binding checked the Lua value or
// the converted data.
func TestDescribeAgreesWithToGo(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	if err := L.DoString(`
values = {
  true, 5, 5.5, -0.25, 'x', "a\"b", {}, { 1, 2 }, { a = 1 }, { 1, nil, 3 }, { [2] = 'x' }, { 1, k = 2 },
}`); err != nil {
		t.Fatal(err)
	}
	tbl := L.GetGlobal("values").(*lua.LTable)
	vals := []lua.LValue{lua.LNil}
	tbl.ForEach(func(_, v lua.LValue) { vals = append(vals, v) })
	marked := L.NewTable()
	marked.Metatable = luart.ArrayMetatable(L)
	vals = append(vals, marked)
	for _, v := range vals {
		g, err := luart.ToGo(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := luart.Describe(v), plain.Describe(g); got != want {
			t.Errorf("Describe(%v) = %q, want %q", v, got, want)
		}
	}
	if got := luart.Describe(L.NewFunction(func(*lua.LState) int { return 0 })); got != "function" {
		t.Errorf("a function is described as %q", got)
	}
	if got := luart.Describe(L.NewUserData()); got != "userdata" {
		t.Errorf("a userdata is described as %q", got)
	}
}
