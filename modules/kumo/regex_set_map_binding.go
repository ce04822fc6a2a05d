package kumo

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/regexset"
)

// kumo.regex_set_map.new([TABLE]) returns a RegexSetMap: an immutable map
// from regular expressions (KumoMTA's dialect) to values.
//
//	map[haystack]   -> the value of the first pattern that matches anywhere
//	                   in haystack, or nil (also for a key that is not a
//	                   string); patterns are tried in byte order of their
//	                   text (see regexset.New)
//	map[k] = v      -> an error: the map is immutable
//	pairs(map)      -> every pattern and its value
//
// Values are stored as plain Go data. The map never changes, so kumo.memoize
// and kumo.mpsc share it by reference.

const regexSetMapMetaKey = "kumopolicy.kumo.RegexSetMap"

// openRegexSetMap installs kumo.regex_set_map.new.
func openRegexSetMap(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "regex_set_map")
	t.RawSetString("new", L.NewFunction(regexSetMapNew))
}

// regexSetMapObject is the Go value of a RegexSetMap userdata; being
// immutable, it is its own memoized form.
type regexSetMapObject struct{ m *regexset.Map[any] }

// MemoizeValue lets kumo.memoize (and kumo.mpsc) share the map.
func (o *regexSetMapObject) MemoizeValue() MemoizedUserData { return o }

func (o *regexSetMapObject) NewLuaUserData(L *lua.LState) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = o
	L.SetMetatable(ud, regexSetMapMetatable(L))
	return ud
}

// LuaToGo returns the entries as an object of pattern -> value.
func (o *regexSetMapObject) LuaToGo() (any, error) {
	out := map[string]any{}
	o.m.Each(func(p string, v any) { out[p] = v })
	return out, nil
}

func regexSetMapMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(regexSetMapMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("RegexSetMap"))
	mt.RawSetString("__index", L.NewFunction(regexSetMapIndex))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("kumo.regex_set_map: a RegexSetMap is immutable: build the table first and pass it to kumo.regex_set_map.new")
		return 0
	}))
	mt.RawSetString("__pairs", L.NewFunction(regexSetMapPairs))
	mt.RawSetString("__len", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(checkRegexSetMap(L).m.Len()))
		return 1
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(fmt.Sprintf("RegexSetMap(%d patterns)", checkRegexSetMap(L).m.Len())))
		return 1
	}))
	L.G.Registry.RawSetString(regexSetMapMetaKey, mt)
	return mt
}

func checkRegexSetMap(L *lua.LState) *regexSetMapObject {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if o, ok := ud.Value.(*regexSetMapObject); ok {
			return o
		}
	}
	L.ArgError(1, "RegexSetMap expected")
	return nil
}

func regexSetMapNew(L *lua.LState) int {
	entries := map[string]any{}
	switch src := L.Get(1).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		var firstErr error
		src.ForEach(func(k, v lua.LValue) {
			if firstErr != nil {
				return
			}
			ks, ok := k.(lua.LString)
			if !ok {
				firstErr = fmt.Errorf("kumo.regex_set_map.new: a key must be a regular expression string, got %s", luart.Describe(k))
				return
			}
			g, err := luart.ToGo(v)
			if err != nil {
				firstErr = fmt.Errorf("kumo.regex_set_map.new: cannot store the value of %q: %w", string(ks), err)
				return
			}
			entries[string(ks)] = g
		})
		if firstErr != nil {
			raise(L, firstErr)
		}
	default:
		L.ArgError(1, "a table expected, got "+luart.Describe(src))
	}
	m, err := regexset.New(entries)
	if err != nil {
		L.RaiseError("kumo.regex_set_map.new: %s", err)
	}
	L.Push((&regexSetMapObject{m: m}).NewLuaUserData(L))
	return 1
}

func regexSetMapIndex(L *lua.LState) int {
	o := checkRegexSetMap(L)
	ks, ok := L.Get(2).(lua.LString)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	v, found, err := o.m.Lookup(string(ks))
	if err != nil {
		L.RaiseError("kumo.regex_set_map: %s", err)
	}
	if !found {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(luart.ToLua(L, v))
	return 1
}

func regexSetMapPairs(L *lua.LState) int {
	o := checkRegexSetMap(L)
	type kv struct {
		p string
		v any
	}
	var entries []kv
	o.m.Each(func(p string, v any) { entries = append(entries, kv{p, v}) })
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(entries) {
			L.Push(lua.LNil)
			return 1
		}
		e := entries[i]
		i++
		L.Push(lua.LString(e.p))
		L.Push(luart.ToLua(L, e.v))
		return 2
	}))
	L.Push(L.Get(1))
	L.Push(lua.LNil)
	return 3
}
