package kumo

import (
	"strings"
	"unicode"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/net/publicsuffix"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kstring"
	"github.com/kumopolicy/kumopolicy/modules/kumo/template"
)

// kumo.string, as KumoMTA's mod-string: starts_with, ends_with, replace,
// replacen, split, splitn, rsplit, rsplitn, split_whitespace,
// split_ascii_whitespace, trim, trim_start, trim_end (Unicode White_Space),
// wrap (see kstring.Wrap), psl_domain and psl_suffix (the Public Suffix
// List of golang.org/x/net/publicsuffix), normalize_smtp_response (see
// kstring.NormalizeSMTPResponse) and eval_template (see package template). Lists are sequences.

// openString installs kumo.string.
func openString(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "string")
	str := func(f func(L *lua.LState) string) lua.LGFunction {
		return func(L *lua.LState) int { L.Push(lua.LString(f(L))); return 1 }
	}
	list := func(f func(L *lua.LState) []string) lua.LGFunction {
		return func(L *lua.LState) int {
			parts := f(L)
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			L.Push(luart.ToLua(L, out))
			return 1
		}
	}
	L.SetFuncs(t, map[string]lua.LGFunction{
		"starts_with": func(L *lua.LState) int {
			L.Push(lua.LBool(strings.HasPrefix(L.CheckString(1), L.CheckString(2))))
			return 1
		},
		"ends_with": func(L *lua.LState) int {
			L.Push(lua.LBool(strings.HasSuffix(L.CheckString(1), L.CheckString(2))))
			return 1
		},
		"replace": str(func(L *lua.LState) string {
			return strings.ReplaceAll(L.CheckString(1), L.CheckString(2), L.CheckString(3))
		}),
		"replacen": str(func(L *lua.LState) string {
			return strings.Replace(L.CheckString(1), L.CheckString(2), L.CheckString(3), countArg(L, 4))
		}),
		"split": list(func(L *lua.LState) []string { return strings.Split(L.CheckString(1), L.CheckString(2)) }),
		"splitn": list(func(L *lua.LState) []string {
			return strings.SplitN(L.CheckString(1), L.CheckString(3), countArg(L, 2))
		}),
		"rsplit": list(func(L *lua.LState) []string { return kstring.RSplitN(L.CheckString(1), L.CheckString(2), 0) }),
		"rsplitn": list(func(L *lua.LState) []string {
			n := countArg(L, 2)
			if n == 0 {
				return nil
			}
			return kstring.RSplitN(L.CheckString(1), L.CheckString(3), n)
		}),
		"split_whitespace":       list(func(L *lua.LState) []string { return strings.Fields(L.CheckString(1)) }),
		"split_ascii_whitespace": list(func(L *lua.LState) []string { return kstring.SplitASCIIWhitespace(L.CheckString(1)) }),
		"trim":                   str(func(L *lua.LState) string { return strings.TrimFunc(L.CheckString(1), unicode.IsSpace) }),
		"trim_start":             str(func(L *lua.LState) string { return strings.TrimLeftFunc(L.CheckString(1), unicode.IsSpace) }),
		"trim_end":               str(func(L *lua.LState) string { return strings.TrimRightFunc(L.CheckString(1), unicode.IsSpace) }),
		"wrap": str(func(L *lua.LState) string {
			return kstring.Wrap(L.CheckString(1), int(L.OptInt64(2, 75)), int(L.OptInt64(3, 900)))
		}),
		"psl_suffix": str(func(L *lua.LState) string {
			suffix, _ := publicsuffix.PublicSuffix(strings.ToLower(L.CheckString(1)))
			return suffix
		}),
		"eval_template": stringEvalTemplate,
		"normalize_smtp_response": str(func(L *lua.LState) string {
			return kstring.NormalizeSMTPResponse(L.CheckString(1))
		}),
		"psl_domain": func(L *lua.LState) int {
			d, err := publicsuffix.EffectiveTLDPlusOne(strings.ToLower(L.CheckString(1)))
			if err != nil {
				L.Push(lua.LNil)
				return 1
			}
			L.Push(lua.LString(d))
			return 1
		},
	})
}

// stringEvalTemplate is kumo.string.eval_template(NAME, SOURCE, CONTEXT,
// OPT_DIALECT).
func stringEvalTemplate(L *lua.LState) int {
	name, source := L.CheckString(1), L.CheckString(2)
	var ctx map[string]any
	if v := L.Get(3); v != lua.LNil {
		data, err := luart.ToGo(v)
		if err != nil {
			L.RaiseError("kumo.string.eval_template: CONTEXT: %s", err)
		}
		m, ok := data.(map[string]any)
		if !ok {
			L.RaiseError("kumo.string.eval_template: CONTEXT must be a table of variables, got %s", luart.Describe(v))
		}
		ctx = m
	}
	out, err := template.Eval(name, source, ctx, L.OptString(4, ""))
	if err != nil {
		L.RaiseError("kumo.string.eval_template: %s", err)
	}
	L.Push(lua.LString(out))
	return 1
}

// countArg returns argument n as a non-negative count.
func countArg(L *lua.LState, n int) int {
	f := float64(L.CheckNumber(n))
	if f < 0 || f != float64(int64(f)) {
		L.ArgError(n, "non-negative integer expected")
	}
	return int(f)
}
