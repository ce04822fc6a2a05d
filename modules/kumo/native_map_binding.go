package kumo

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// The Lua object shared by the native map bindings (DomainMap, CidrMap,
// RegexSetMap): a userdata over a Go map of plain data values that
// kumo.memoize and kumo.mpsc share by reference between Lua states. Each
// state gets its own object over the shared map, marked shared, and a
// change through it copies the map first (copy-on-write), so no state ever
// sees another's assignment. A binding describes its core map with a
// nativeMapKind and keeps only its constructor, key parsing and lookup.

// nativeMapEntry is one key of a native map and its value, as pairs and
// kumo.json_encode show them.
type nativeMapEntry struct {
	key   string
	value any
}

// nativeMapKind describes one native map binding over a core map M.
type nativeMapKind[M any] struct {
	name    string // the userdata's __name, as in "DomainMap expected"
	metaKey string // registry key of the metatable
	noun    string // what __tostring counts: "DomainMap(3 entries)"
	hasLen  bool   // whether #map answers the number of entries

	length func(M) int
	// entries lists the entries in the order pairs gives them.
	entries func(M) []nativeMapEntry
	// index answers map[key]: the value and whether there is one. An error
	// is raised as is.
	index func(m M, key lua.LValue) (any, bool, error)
	// set does map[key] = value (nil removes) on a map that may be
	// changed. An error is raised as is.
	set func(m M, key, value lua.LValue) error
	// clone copies a map before the first change of a shared one.
	clone func(M) M
	// immutable, when set, is the error an assignment raises instead of
	// calling set: the map never changes.
	immutable string
}

// nativeMapObject is the Go value of a native map userdata. It belongs to
// one Lua state; when shared is set, m is also referenced by a memoize
// cache (or by other states) and is copied before the first change.
type nativeMapObject[M any] struct {
	kind   *nativeMapKind[M]
	m      M
	shared bool
}

// Map returns the map behind the object. Do not modify it.
func (o *nativeMapObject[M]) Map() M { return o.m }

// writable returns the map to change, copying a shared one first.
func (o *nativeMapObject[M]) writable() M {
	if o.shared {
		o.m = o.kind.clone(o.m)
		o.shared = false
	}
	return o.m
}

// frozenNativeMap is what kumo.memoize stores: a map nobody changes.
type frozenNativeMap[M any] struct {
	kind *nativeMapKind[M]
	m    M
}

// MemoizeValue lets kumo.memoize (and kumo.mpsc) share the map by
// reference; later changes through o copy the map first, so the cached
// entry never changes.
func (o *nativeMapObject[M]) MemoizeValue() MemoizedUserData {
	o.shared = true
	return &frozenNativeMap[M]{kind: o.kind, m: o.m}
}

// NewLuaUserData wraps the cached map for state L as a copy-on-write view.
func (f *frozenNativeMap[M]) NewLuaUserData(L *lua.LState) *lua.LUserData {
	return f.kind.newUserData(L, &nativeMapObject[M]{kind: f.kind, m: f.m, shared: true})
}

// LuaToGo returns the entries as an object of key -> value (luart.GoValuer).
func (o *nativeMapObject[M]) LuaToGo() (any, error) {
	entries := o.kind.entries(o.m)
	out := make(map[string]any, len(entries))
	for _, e := range entries {
		out[e.key] = e.value
	}
	return out, nil
}

// wrap returns a new userdata of state L over a map nobody else holds.
func (k *nativeMapKind[M]) wrap(L *lua.LState, m M) *lua.LUserData {
	return k.newUserData(L, &nativeMapObject[M]{kind: k, m: m})
}

func (k *nativeMapKind[M]) newUserData(L *lua.LState, o *nativeMapObject[M]) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = o
	L.SetMetatable(ud, k.metatable(L))
	return ud
}

// fromLua returns the object behind a userdata of this kind.
func (k *nativeMapKind[M]) fromLua(v lua.LValue) (*nativeMapObject[M], bool) {
	ud, ok := v.(*lua.LUserData)
	if !ok {
		return nil, false
	}
	o, ok := ud.Value.(*nativeMapObject[M])
	if !ok || o.kind != k {
		return nil, false
	}
	return o, true
}

// check returns the object of argument 1 (the self of a metamethod).
func (k *nativeMapKind[M]) check(L *lua.LState) *nativeMapObject[M] {
	o, ok := k.fromLua(L.Get(1))
	if !ok {
		L.ArgError(1, k.name+" expected")
	}
	return o
}

func (k *nativeMapKind[M]) metatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(k.metaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString(k.name))
	mt.RawSetString("__index", L.NewFunction(k.luaIndex))
	mt.RawSetString("__newindex", L.NewFunction(k.luaNewIndex))
	mt.RawSetString("__pairs", L.NewFunction(k.luaPairs))
	if k.hasLen {
		mt.RawSetString("__len", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LNumber(k.length(k.check(L).m)))
			return 1
		}))
	}
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		o := k.check(L)
		L.Push(lua.LString(fmt.Sprintf("%s(%d %s)", k.name, k.length(o.m), k.noun)))
		return 1
	}))
	L.G.Registry.RawSetString(k.metaKey, mt)
	return mt
}

// luaIndex is __index: map[key].
func (k *nativeMapKind[M]) luaIndex(L *lua.LState) int {
	o := k.check(L)
	v, found, err := k.index(o.m, L.Get(2))
	if err != nil {
		raise(L, err)
	}
	if !found {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(luart.ToLua(L, v))
	return 1
}

// luaNewIndex is __newindex: map[key] = value.
func (k *nativeMapKind[M]) luaNewIndex(L *lua.LState) int {
	if k.immutable != "" {
		L.RaiseError("%s", k.immutable)
	}
	o := k.check(L)
	if err := k.set(o.writable(), L.Get(2), L.Get(3)); err != nil {
		raise(L, err)
	}
	return 0
}

// luaPairs is __pairs: the entries as they were when pairs was called.
func (k *nativeMapKind[M]) luaPairs(L *lua.LState) int {
	o := k.check(L)
	entries := k.entries(o.m)
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(entries) {
			L.Push(lua.LNil)
			return 1
		}
		e := entries[i]
		i++
		L.Push(lua.LString(e.key))
		L.Push(luart.ToLua(L, e.value))
		return 2
	}))
	L.Push(L.Get(1))
	L.Push(lua.LNil)
	return 3
}

// eachUntilError calls f on every key and value of t until f fails, and
// returns that first error.
func eachUntilError(t *lua.LTable, f func(k, v lua.LValue) error) error {
	var firstErr error
	t.ForEach(func(k, v lua.LValue) {
		if firstErr == nil {
			firstErr = f(k, v)
		}
	})
	return firstErr
}
