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

// openCidr installs kumo.cidr.make_map.
func openCidr(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "cidr")
	t.RawSetString("make_map", L.NewFunction(cidrMakeMap))
}

var cidrMapKind = &nativeMapKind[*cidrmap.Map[any]]{
	name:    "CidrMap",
	metaKey: "kumopolicy.kumo.CidrMap",
	noun:    "entries",
	hasLen:  true,
	length:  (*cidrmap.Map[any]).Len,
	entries: func(m *cidrmap.Map[any]) []nativeMapEntry {
		entries := m.Entries()
		out := make([]nativeMapEntry, len(entries))
		for i, e := range entries {
			out[i] = nativeMapEntry{cidrmap.String(e.Prefix), e.Value}
		}
		return out
	},
	index: cidrMapIndex,
	set:   cidrMapSet,
	clone: (*cidrmap.Map[any]).Clone,
}

func cidrMakeMap(L *lua.LState) int {
	m := cidrmap.New[any]()
	switch src := L.Get(1).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		err := eachUntilError(src, func(k, v lua.LValue) error {
			return cidrMapSet(m, k, v)
		})
		if err != nil {
			raise(L, err)
		}
	default:
		L.ArgError(1, "a table expected, got "+luart.Describe(src))
	}
	L.Push(cidrMapKind.wrap(L, m))
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

// cidrMapIndex looks an address up; a key that is not one finds nothing.
func cidrMapIndex(m *cidrmap.Map[any], k lua.LValue) (any, bool, error) {
	ks, ok := k.(lua.LString)
	if !ok {
		return nil, false, nil
	}
	p, err := cidrmap.ParseKey(string(ks))
	if err != nil {
		return nil, false, nil
	}
	v, ok := m.Lookup(p)
	return v, ok, nil
}
