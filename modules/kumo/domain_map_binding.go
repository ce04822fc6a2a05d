package kumo

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/domainmap"
)

// kumo.domain_map.new([TABLE]) returns a DomainMap: a dictionary keyed by
// domain name that also holds wildcard keys ("*.example.com") and the
// catch-all "*" (see package domainmap for the lookup precedence). Keys are
// case-insensitive.
//
//	dmap[name]          -> the value that applies to name, or nil
//	dmap[key] = value   -> stores value (nil removes the key); a key that
//	                       is not a domain name or pattern raises an error
//	                       naming it
//	pairs(dmap)         -> every key (lower-cased, sorted) and its value
//
// Values are stored as plain Go data (luart.ToGo): every read hands out a
// fresh Lua value, so changing what a lookup returned never changes the
// map, and values that have no data form (functions ...) are refused when
// stored. That makes a DomainMap safe to share between Lua states:
// kumo.memoize caches it without copying, and each state that hits the
// cache gets its own copy-on-write view, so an assignment in one state is
// never seen by another. kumo.json_encode(dmap) gives the keys and values
// as an object.

const domainMapMetaKey = "kumopolicy.kumo.DomainMap"

// openDomainMap installs kumo.domain_map.new.
func openDomainMap(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "domain_map")
	t.RawSetString("new", L.NewFunction(domainMapNew))
}

// DomainMapObject is the Go value of a DomainMap userdata. It belongs to
// one Lua state; when shared is set, m is also referenced by a memoize
// cache (or by other states) and is copied before the first change.
type DomainMapObject struct {
	m      *domainmap.Map[any]
	shared bool
}

// Map returns the map behind the object. Do not modify it.
func (o *DomainMapObject) Map() *domainmap.Map[any] { return o.m }

// writable returns the map to change, copying a shared one first.
func (o *DomainMapObject) writable() *domainmap.Map[any] {
	if o.shared {
		o.m = o.m.Clone()
		o.shared = false
	}
	return o.m
}

// frozenDomainMap is what kumo.memoize stores: a map nobody changes.
type frozenDomainMap struct{ m *domainmap.Map[any] }

// MemoizeValue lets kumo.memoize cache the map by reference; later changes
// through o copy the map first, so the cached entry never changes.
func (o *DomainMapObject) MemoizeValue() MemoizedUserData {
	o.shared = true
	return &frozenDomainMap{m: o.m}
}

// NewLuaUserData wraps the cached map for state L as a copy-on-write view.
func (f *frozenDomainMap) NewLuaUserData(L *lua.LState) *lua.LUserData {
	return newDomainMapUserData(L, &DomainMapObject{m: f.m, shared: true})
}

// LuaToGo returns the entries as an object of key -> value (luart.GoValuer).
func (o *DomainMapObject) LuaToGo() (any, error) {
	entries := o.m.Entries()
	out := make(map[string]any, len(entries))
	for _, e := range entries {
		out[e.Key] = e.Value
	}
	return out, nil
}

// DomainMapFromLua returns the object behind a DomainMap userdata.
func DomainMapFromLua(v lua.LValue) (*DomainMapObject, bool) {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return nil, false
	}
	o, ok := ud.Value.(*DomainMapObject)
	return o, ok
}

func newDomainMapUserData(L *lua.LState, o *DomainMapObject) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = o
	L.SetMetatable(ud, domainMapMetatable(L))
	return ud
}

func domainMapMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(domainMapMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("DomainMap"))
	mt.RawSetString("__index", L.NewFunction(domainMapIndex))
	mt.RawSetString("__newindex", L.NewFunction(domainMapNewIndex))
	mt.RawSetString("__pairs", L.NewFunction(domainMapPairs))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		o := checkDomainMap(L)
		L.Push(lua.LString(fmt.Sprintf("DomainMap(%d entries)", o.m.Len())))
		return 1
	}))
	L.G.Registry.RawSetString(domainMapMetaKey, mt)
	return mt
}

func checkDomainMap(L *lua.LState) *DomainMapObject {
	o, ok := DomainMapFromLua(L.Get(1))
	if !ok {
		L.ArgError(1, "DomainMap expected")
	}
	return o
}

// domainMapKey reads a key: a string, or a number (as Lua coerces them).
func domainMapKey(v lua.LValue) (string, error) {
	switch x := v.(type) {
	case lua.LString:
		return string(x), nil
	case lua.LNumber:
		return formatNumber(float64(x)), nil
	}
	return "", fmt.Errorf("kumo.domain_map: a key must be a domain name string, got %s", luart.Describe(v))
}

// domainMapNew implements kumo.domain_map.new([TABLE]).
func domainMapNew(L *lua.LState) int {
	m := domainmap.New[any]()
	switch src := L.Get(1).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		var firstErr error
		src.ForEach(func(k, v lua.LValue) {
			if firstErr != nil {
				return
			}
			key, err := domainMapKey(k)
			if err != nil {
				firstErr = err
				return
			}
			firstErr = domainMapSet(m, key, v)
		})
		if firstErr != nil {
			raise(L, firstErr)
		}
	case *lua.LUserData:
		o, ok := DomainMapFromLua(src)
		if !ok {
			L.ArgError(1, "a table or a DomainMap expected, got "+luart.Describe(src))
		}
		m = o.m.Clone()
	default:
		L.ArgError(1, "a table or a DomainMap expected, got "+luart.Describe(src))
	}
	L.Push(newDomainMapUserData(L, &DomainMapObject{m: m}))
	return 1
}

// domainMapSet stores a Lua value under key as plain data; nil removes it.
func domainMapSet(m *domainmap.Map[any], key string, v lua.LValue) error {
	if v == lua.LNil {
		if err := m.Delete(key); err != nil {
			return fmt.Errorf("kumo.domain_map: %w", err)
		}
		return nil
	}
	g, err := luart.ToGo(v)
	if err != nil {
		return fmt.Errorf("kumo.domain_map: cannot store the value of %q: %w", key, err)
	}
	if err := m.Set(key, g); err != nil {
		return fmt.Errorf("kumo.domain_map: %w", err)
	}
	return nil
}

// domainMapIndex is __index: dmap[name].
func domainMapIndex(L *lua.LState) int {
	o := checkDomainMap(L)
	key, err := domainMapKey(L.Get(2))
	if err != nil {
		raise(L, err)
	}
	if v, ok := o.m.Get(key); ok {
		L.Push(luart.ToLua(L, v))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

// domainMapNewIndex is __newindex: dmap[key] = value.
func domainMapNewIndex(L *lua.LState) int {
	o := checkDomainMap(L)
	key, err := domainMapKey(L.Get(2))
	if err != nil {
		raise(L, err)
	}
	if err := domainMapSet(o.writable(), key, L.Get(3)); err != nil {
		raise(L, err)
	}
	return 0
}

// domainMapPairs is __pairs: the entries as they were when pairs was
// called, sorted by key.
func domainMapPairs(L *lua.LState) int {
	o := checkDomainMap(L)
	entries := o.m.Entries()
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(entries) {
			L.Push(lua.LNil)
			return 1
		}
		e := entries[i]
		i++
		L.Push(lua.LString(e.Key))
		L.Push(luart.ToLua(L, e.Value))
		return 2
	}))
	L.Push(L.Get(1))
	L.Push(lua.LNil)
	return 3
}
