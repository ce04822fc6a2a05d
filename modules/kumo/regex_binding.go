package kumo

import (
	"fmt"
	"math"
	"sync"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/regex"
)

// kumo.regex, as KumoMTA's mod-regex: kumo.regex.compile(PATTERN) returns
// a Regex object and kumo.regex.escape(TEXT) escapes meta characters.
// Patterns use KumoMTA's dialect (Rust regex plus fancy-regex's
// look-around, back-references, ...); see package regex.
//
// Regex methods (all raise on a backtracking timeout):
//
//	re:is_match(s)                   -> boolean
//	re:find(s)                       -> text of the first match, or nil
//	re:find_all(s)                   -> sequence of the texts of all matches
//	re:captures(s)                   -> nil, or a table: [0] the whole match,
//	                                    [1..n] the groups, and each named group
//	                                    by name; a group that did not take part
//	                                    is absent
//	re:replace(s, rep)               -> s with the first match replaced
//	re:replace_all(s, rep)           -> s with every match replaced
//	re:replacen(s, limit, rep)       -> at most limit replaced (0: all)
//	re:split(s)                      -> sequence of the pieces between matches
//
// In rep, $N, $name, ${N} and ${name} insert a group ($$ is a literal $).

const regexMetaKey = "kumopolicy.kumo.regex.Regex"

// openRegex installs kumo.regex.compile and kumo.regex.escape.
func openRegex(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "regex")
	L.SetFuncs(t, map[string]lua.LGFunction{
		"compile": regexCompile,
		"escape":  regexEscape,
	})
}

// compiledRegexes shares compiled patterns between states and calls
// (policies such as policy_utils.assert_matches compile on every call).
// Compiled patterns are immutable. When full, the cache starts over.
var compiledRegexes = struct {
	sync.Mutex
	m map[string]*regex.Regexp
}{m: map[string]*regex.Regexp{}}

const maxCompiledRegexes = 512

func compileCached(pattern string) (*regex.Regexp, error) {
	compiledRegexes.Lock()
	re, ok := compiledRegexes.m[pattern]
	compiledRegexes.Unlock()
	if ok {
		return re, nil
	}
	re, err := regex.Compile(pattern)
	if err != nil {
		return nil, err
	}
	compiledRegexes.Lock()
	if len(compiledRegexes.m) >= maxCompiledRegexes {
		compiledRegexes.m = map[string]*regex.Regexp{}
	}
	compiledRegexes.m[pattern] = re
	compiledRegexes.Unlock()
	return re, nil
}

func regexCompile(L *lua.LState) int {
	re, err := compileCached(L.CheckString(1))
	if err != nil {
		raise(L, err)
	}
	ud := L.NewUserData()
	ud.Value = re
	L.SetMetatable(ud, regexMetatable(L))
	L.Push(ud)
	return 1
}

func regexEscape(L *lua.LState) int {
	L.Push(lua.LString(regex.Escape(L.CheckString(1))))
	return 1
}

func regexMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(regexMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	methods := L.NewTable()
	L.SetFuncs(methods, map[string]lua.LGFunction{
		"captures":    regexCaptures,
		"is_match":    regexIsMatch,
		"find":        regexFind,
		"find_all":    regexFindAll,
		"replace":     regexReplace,
		"replace_all": regexReplaceAll,
		"replacen":    regexReplacen,
		"split":       regexSplit,
	})
	mt.RawSetString("__index", methods)
	mt.RawSetString("__name", lua.LString("Regex"))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(fmt.Sprintf("Regex(%q)", checkRegex(L).String())))
		return 1
	}))
	L.G.Registry.RawSetString(regexMetaKey, mt)
	return mt
}

// checkRegex returns the Regex of argument 1 (the object of a method call).
func checkRegex(L *lua.LState) *regex.Regexp {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if re, ok := ud.Value.(*regex.Regexp); ok {
			return re
		}
	}
	L.ArgError(1, "Regex expected (call methods with ':')")
	return nil
}

// sequence builds a plain Lua sequence (as mlua does for a Vec).
func sequence(L *lua.LState, items []string) *lua.LTable {
	t := L.CreateTable(len(items), 0)
	for i, s := range items {
		t.RawSetInt(i+1, lua.LString(s))
	}
	return t
}

func regexIsMatch(L *lua.LState) int {
	re := checkRegex(L)
	ok, err := re.MatchString(L.CheckString(2))
	if err != nil {
		raise(L, err)
	}
	L.Push(lua.LBool(ok))
	return 1
}

func regexCaptures(L *lua.LState) int {
	re := checkRegex(L)
	s := L.CheckString(2)
	loc, err := re.FindStringSubmatchIndex(s)
	if err != nil {
		raise(L, err)
	}
	if loc == nil {
		L.Push(lua.LNil)
		return 1
	}
	names := re.SubexpNames()
	t := L.CreateTable(len(names)-1, 0)
	for g, name := range names {
		a, b := loc[2*g], loc[2*g+1]
		if a < 0 {
			continue
		}
		text := lua.LString(s[a:b])
		t.RawSetInt(g, text)
		if name != "" {
			t.RawSetString(name, text)
		}
	}
	L.Push(t)
	return 1
}

func regexFind(L *lua.LState) int {
	re := checkRegex(L)
	m, ok, err := re.FindString(L.CheckString(2))
	if err != nil {
		raise(L, err)
	}
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LString(m))
	return 1
}

func regexFindAll(L *lua.LState) int {
	re := checkRegex(L)
	all, err := re.FindAllString(L.CheckString(2), -1)
	if err != nil {
		raise(L, err)
	}
	L.Push(sequence(L, all))
	return 1
}

func regexReplace(L *lua.LState) int {
	return replaceN(L, checkRegex(L), L.CheckString(2), L.CheckString(3), 1)
}

func regexReplaceAll(L *lua.LState) int {
	return replaceN(L, checkRegex(L), L.CheckString(2), L.CheckString(3), 0)
}

func regexReplacen(L *lua.LState) int {
	re := checkRegex(L)
	s := L.CheckString(2)
	n := float64(L.CheckNumber(3))
	if n < 0 || n != math.Trunc(n) || n > math.MaxInt32 {
		L.ArgError(3, "limit must be a non-negative integer")
	}
	return replaceN(L, re, s, L.CheckString(4), int(n))
}

func replaceN(L *lua.LState, re *regex.Regexp, s, rep string, limit int) int {
	out, err := re.ReplaceN(s, rep, limit)
	if err != nil {
		raise(L, err)
	}
	L.Push(lua.LString(out))
	return 1
}

func regexSplit(L *lua.LState) int {
	re := checkRegex(L)
	parts, err := re.Split(L.CheckString(2))
	if err != nil {
		raise(L, err)
	}
	L.Push(sequence(L, parts))
	return 1
}
