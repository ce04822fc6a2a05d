package kumo

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/cidrmap"
)

// kumo.cidr.make_map([TABLE]) returns a CidrMap: a dictionary keyed by IP
// address or CIDR block whose lookups answer with the value of the longest
// block holding the address (see package cidrmap for the key forms).
//
//	cmap[addr]          -> the value that applies, or nil (also for a key
//	                       that is not an address)
//	cmap[key] = value   -> stores value (nil removes the block); a key that
//	                       is not an address or block raises an error
//	pairs(cmap)         -> every block and its value
//
// As with DomainMap, values are stored as plain Go data and the map is
// memoizable by reference with copy-on-write views, so it may be cached by
// kumo.memoize and sent through kumo.mpsc queues.

const cidrMapMetaKey = "kumopolicy.kumo.CidrMap"

// openCidr installs kumo.cidr.make_map.
func openCidr(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "cidr")
	t.RawSetString("make_map", L.NewFunction(cidrMakeMap))
}

// cidrMapObject is the Go value of a CidrMap userdata; see DomainMapObject
// for the shared flag.
type cidrMapObject struct {
	m      *cidrmap.Map[any]
	shared bool
}

func (o *cidrMapObject) writable() *cidrmap.Map[any] {
	if o.shared {
		o.m = o.m.Clone()
		o.shared = false
	}
	return o.m
}

type frozenCidrMap struct{ m *cidrmap.Map[any] }

// MemoizeValue lets kumo.memoize (and kumo.mpsc) share the map by reference.
func (o *cidrMapObject) MemoizeValue() MemoizedUserData {
	o.shared = true
	return &frozenCidrMap{m: o.m}
}

func (f *frozenCidrMap) NewLuaUserData(L *lua.LState) *lua.LUserData {
	return newCidrMapUserData(L, &cidrMapObject{m: f.m, shared: true})
}

// LuaToGo returns the entries as an object of block -> value.
func (o *cidrMapObject) LuaToGo() (any, error) {
	out := map[string]any{}
	for _, e := range o.m.Entries() {
		out[cidrmap.String(e.Prefix)] = e.Value
	}
	return out, nil
}

func newCidrMapUserData(L *lua.LState, o *cidrMapObject) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = o
	L.SetMetatable(ud, cidrMapMetatable(L))
	return ud
}

func cidrMapMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(cidrMapMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("CidrMap"))
	mt.RawSetString("__index", L.NewFunction(cidrMapIndex))
	mt.RawSetString("__newindex", L.NewFunction(cidrMapNewIndex))
	mt.RawSetString("__pairs", L.NewFunction(cidrMapPairs))
	mt.RawSetString("__len", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(checkCidrMap(L).m.Len()))
		return 1
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(fmt.Sprintf("CidrMap(%d entries)", checkCidrMap(L).m.Len())))
		return 1
	}))
	L.G.Registry.RawSetString(cidrMapMetaKey, mt)
	return mt
}

func checkCidrMap(L *lua.LState) *cidrMapObject {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if o, ok := ud.Value.(*cidrMapObject); ok {
			return o
		}
	}
	L.ArgError(1, "CidrMap expected")
	return nil
}

func cidrMakeMap(L *lua.LState) int {
	m := cidrmap.New[any]()
	switch src := L.Get(1).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		var firstErr error
		src.ForEach(func(k, v lua.LValue) {
			if firstErr == nil {
				firstErr = cidrMapSet(m, k, v)
			}
		})
		if firstErr != nil {
			raise(L, firstErr)
		}
	default:
		L.ArgError(1, "a table expected, got "+luart.Describe(src))
	}
	L.Push(newCidrMapUserData(L, &cidrMapObject{m: m}))
	return 1
}

func cidrMapSet(m *cidrmap.Map[any], k, v lua.LValue) error {
	ks, ok := k.(lua.LString)
	if !ok {
		return fmt.Errorf("kumo.cidr: a key must be an IP address or CIDR block string, got %s", luart.Describe(k))
	}
	p, err := cidrmap.ParseKey(string(ks))
	if err != nil {
		return fmt.Errorf("kumo.cidr: %v", err)
	}
	if v == lua.LNil {
		m.Delete(p)
		return nil
	}
	g, err := luart.ToGo(v)
	if err != nil {
		return fmt.Errorf("kumo.cidr: cannot store the value of %q: %w", string(ks), err)
	}
	m.Set(p, g)
	return nil
}

func cidrMapIndex(L *lua.LState) int {
	o := checkCidrMap(L)
	ks, ok := L.Get(2).(lua.LString)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	p, err := cidrmap.ParseKey(string(ks))
	if err != nil {
		L.Push(lua.LNil)
		return 1
	}
	if v, ok := o.m.Lookup(p); ok {
		L.Push(luart.ToLua(L, v))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

func cidrMapNewIndex(L *lua.LState) int {
	o := checkCidrMap(L)
	if err := cidrMapSet(o.writable(), L.Get(2), L.Get(3)); err != nil {
		raise(L, err)
	}
	return 0
}

func cidrMapPairs(L *lua.LState) int {
	o := checkCidrMap(L)
	entries := o.m.Entries()
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(entries) {
			L.Push(lua.LNil)
			return 1
		}
		e := entries[i]
		i++
		L.Push(lua.LString(cidrmap.String(e.Prefix)))
		L.Push(luart.ToLua(L, e.Value))
		return 2
	}))
	L.Push(L.Get(1))
	L.Push(lua.LNil)
	return 3
}
