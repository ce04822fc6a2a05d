package kumo

import (
	"fmt"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// params decodes a Lua parameter table strictly, with serde-style error
// texts (KumoMTA's policy helpers match on them):
//
//	unknown field `x`, expected one of `a`, `b`
//	missing field `x`
//	invalid type: string "x", expected a boolean
//
// Read every field with the typed getters, then call Err, which also
// reports fields the table has but nobody read.
type params struct {
	L     *lua.LState
	t     *lua.LTable
	known []string
	err   error
}

// newParams checks that argument n is a table and returns a reader for it.
func newParams(L *lua.LState, n int) *params {
	v := L.Get(n)
	t, ok := v.(*lua.LTable)
	if !ok {
		L.ArgError(n, fmt.Sprintf("invalid type: %s, expected a table of parameters", describe(v)))
	}
	return &params{L: L, t: t}
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf(format, args...)
	}
}

func (p *params) get(name string, required bool) lua.LValue {
	p.known = append(p.known, name)
	v := p.t.RawGetString(name)
	if v == lua.LNil && required {
		p.fail("missing field `%s`", name)
	}
	return v
}

// String reads a string field; def is returned when absent.
func (p *params) String(name string, required bool, def string) string {
	switch v := p.get(name, required).(type) {
	case *lua.LNilType:
		return def
	case lua.LString:
		return string(v)
	default:
		p.fail("invalid type: %s, expected a string for field `%s`", describe(v), name)
		return def
	}
}

// Bool reads a boolean field.
func (p *params) Bool(name string, required bool, def bool) bool {
	switch v := p.get(name, required).(type) {
	case *lua.LNilType:
		return def
	case lua.LBool:
		return bool(v)
	default:
		p.fail("invalid type: %s, expected a boolean for field `%s`", describe(v), name)
		return def
	}
}

// Uint reads a non-negative integer field.
func (p *params) Uint(name string, required bool, def uint64) uint64 {
	switch v := p.get(name, required).(type) {
	case *lua.LNilType:
		return def
	case lua.LNumber:
		g := luart.NumberToGo(float64(v))
		i, ok := g.(int64)
		if !ok || i < 0 {
			p.fail("invalid value: %s, expected a non-negative integer for field `%s`", describe(v), name)
			return def
		}
		return uint64(i)
	default:
		p.fail("invalid type: %s, expected a non-negative integer for field `%s`", describe(v), name)
		return def
	}
}

// Value reads a field of any type (nil when absent).
func (p *params) Value(name string, required bool) lua.LValue {
	return p.get(name, required)
}

// Err returns the first problem found, including fields not read.
func (p *params) Err() error {
	if p.err != nil {
		return p.err
	}
	var unknown []string
	p.t.ForEach(func(k, _ lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			unknown = append(unknown, k.String())
			return
		}
		for _, n := range p.known {
			if n == string(ks) {
				return
			}
		}
		unknown = append(unknown, string(ks))
	})
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("unknown field `%s`, expected one of %s", unknown[0], expectedList(p.known))
}

func expectedList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "`" + n + "`"
	}
	return strings.Join(q, ", ")
}

// describe renders a Lua value for error messages as plain.Describe does.
func describe(v lua.LValue) string {
	switch x := v.(type) {
	case *lua.LNilType:
		return plain.Describe(nil)
	case lua.LBool:
		return plain.Describe(bool(x))
	case lua.LNumber:
		return plain.Describe(luart.NumberToGo(float64(x)))
	case lua.LString:
		return plain.Describe(string(x))
	case *lua.LTable:
		return plain.Describe(map[string]any(nil))
	}
	return v.Type().String()
}
