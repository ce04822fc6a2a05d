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

// openDomainMap installs kumo.domain_map.new.
func openDomainMap(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "domain_map")
	t.RawSetString("new", L.NewFunction(domainMapNew))
}

// DomainMapObject is the Go value of a DomainMap userdata. It belongs to
// one Lua state; when it is shared, its map is also referenced by a memoize
// cache (or by other states) and is copied before the first change. Map
// returns the map behind it: do not modify that.
type DomainMapObject = nativeMapObject[*domainmap.Map[any]]

var domainMapKind = &nativeMapKind[*domainmap.Map[any]]{
	name:    "DomainMap",
	metaKey: "kumopolicy.kumo.DomainMap",
	noun:    "entries",
	length:  (*domainmap.Map[any]).Len,
	entries: func(m *domainmap.Map[any]) []nativeMapEntry {
		entries := m.Entries()
		out := make([]nativeMapEntry, len(entries))
		for i, e := range entries {
			out[i] = nativeMapEntry{e.Key, e.Value}
		}
		return out
	},
	index: func(m *domainmap.Map[any], k lua.LValue) (any, bool, error) {
		key, err := domainMapKey(k)
		if err != nil {
			return nil, false, err
		}
		v, ok := m.Get(key)
		return v, ok, nil
	},
	set: func(m *domainmap.Map[any], k, v lua.LValue) error {
		key, err := domainMapKey(k)
		if err != nil {
			return err
		}
		return domainMapSet(m, key, v)
	},
	clone: (*domainmap.Map[any]).Clone,
}

// DomainMapFromLua returns the object behind a DomainMap userdata.
func DomainMapFromLua(v lua.LValue) (*DomainMapObject, bool) {
	return domainMapKind.fromLua(v)
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
		err := eachUntilError(src, func(k, v lua.LValue) error {
			return domainMapKind.set(m, k, v)
		})
		if err != nil {
			raise(L, err)
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
	L.Push(domainMapKind.wrap(L, m))
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
