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

// openRegexSetMap installs kumo.regex_set_map.new.
func openRegexSetMap(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "regex_set_map")
	t.RawSetString("new", L.NewFunction(regexSetMapNew))
}

var regexSetMapKind = &nativeMapKind[*regexset.Map[any]]{
	name:    "RegexSetMap",
	metaKey: "kumopolicy.kumo.RegexSetMap",
	noun:    "patterns",
	hasLen:  true,
	length:  (*regexset.Map[any]).Len,
	entries: func(m *regexset.Map[any]) []nativeMapEntry {
		var out []nativeMapEntry
		m.Each(func(p string, v any) { out = append(out, nativeMapEntry{p, v}) })
		return out
	},
	index:     regexSetMapIndex,
	immutable: "kumo.regex_set_map: a RegexSetMap is immutable: build the table first and pass it to kumo.regex_set_map.new",
}

func regexSetMapNew(L *lua.LState) int {
	entries := map[string]any{}
	switch src := L.Get(1).(type) {
	case *lua.LNilType:
	case *lua.LTable:
		err := eachUntilError(src, func(k, v lua.LValue) error {
			ks, ok := k.(lua.LString)
			if !ok {
				return fmt.Errorf("kumo.regex_set_map.new: a key must be a regular expression string, got %s", luart.Describe(k))
			}
			g, err := luart.ToGo(v)
			if err != nil {
				return fmt.Errorf("kumo.regex_set_map.new: cannot store the value of %q: %w", string(ks), err)
			}
			entries[string(ks)] = g
			return nil
		})
		if err != nil {
			raise(L, err)
		}
	default:
		L.ArgError(1, "a table expected, got "+luart.Describe(src))
	}
	m, err := regexset.New(entries)
	if err != nil {
		L.RaiseError("kumo.regex_set_map.new: %s", err)
	}
	L.Push(regexSetMapKind.wrap(L, m))
	return 1
}

// regexSetMapIndex matches a haystack; a key that is not a string finds
// nothing.
func regexSetMapIndex(m *regexset.Map[any], k lua.LValue) (any, bool, error) {
	ks, ok := k.(lua.LString)
	if !ok {
		return nil, false, nil
	}
	v, found, err := m.Lookup(string(ks))
	if err != nil {
		return nil, false, fmt.Errorf("kumo.regex_set_map: %s", err)
	}
	return v, found, nil
}
