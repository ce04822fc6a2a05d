package luart

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Lua 5.4's library where gopher-lua (5.1) lacks it: load of a string,
// utf8 (utf8lib.go), string.pack/unpack/packsize (strpack.go), table.move,
// table.pack, string.rep with a separator,
// math.maxinteger, math.mininteger and math.ult (math.type and
// math.tointeger are in compat.go). The syntax (//, bitwise operators,
// <const>) is in the gopher-lua fork, third_party/gopher-lua.
//
// Numbers are float64. An integer is an integral value within int64's
// range (isInteger); integers beyond ±2^53 are not all representable, so
// arithmetic on them rounds. math.maxinteger is the largest float64 below
// 2^63, 9223372036854774784 (2^63-1 has no float64): it is an integer for
// math.type and math.tointeger, every integer kumopolicy can hold compares
// <= it, and math.maxinteger + 1 does not wrap around to math.mininteger.
// math.mininteger is exactly -2^63.
const (
	luaMaxInteger = float64(math.MaxInt64 - 1023) // 2^63 - 1024, exact in float64
	luaMinInteger = float64(math.MinInt64)
)

func installLua54Lib(L *lua.LState) {
	L.SetGlobal("load", L.NewFunction(lua54Load))

	m := L.GetGlobal("math").(*lua.LTable)
	m.RawSetString("maxinteger", lua.LNumber(luaMaxInteger))
	m.RawSetString("mininteger", lua.LNumber(luaMinInteger))
	m.RawSetString("ult", L.NewFunction(mathUlt))

	t := L.GetGlobal("table").(*lua.LTable)
	t.RawSetString("move", L.NewFunction(tableMove))
	t.RawSetString("pack", L.NewFunction(tablePack))

	s := L.GetGlobal("string").(*lua.LTable)
	s.RawSetString("rep", L.NewFunction(stringRep))
	s.RawSetString("pack", L.NewFunction(stringPack))
	s.RawSetString("unpack", L.NewFunction(stringUnpack))
	s.RawSetString("packsize", L.NewFunction(stringPackSize))

	u := L.NewTable()
	u.RawSetString("char", L.NewFunction(utf8Char))
	u.RawSetString("charpattern", lua.LString("[\x00-\x7F\xC2-\xFD][\x80-\xBF]*"))
	u.RawSetString("codes", L.NewFunction(utf8Codes))
	u.RawSetString("codepoint", L.NewFunction(utf8Codepoint))
	u.RawSetString("len", L.NewFunction(utf8Len))
	u.RawSetString("offset", L.NewFunction(utf8Offset))
	L.SetGlobal("utf8", u)
	if loaded, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable); ok {
		loaded.RawSetString("utf8", u)
	}
}

// argError raises Lua 5.4's "bad argument #n to 'fname' (msg)". fname is
// the function's own name, which is what Lua 5.4 says when it is called
// as utf8.len(...) or s:rep(...).
func argError(L *lua.LState, n int, fname, msg string) {
	raise(L, "bad argument #%d to '%s' (%s)", n, fname, msg)
}

// raise is luaL_error for a Go function: the message gets the position of
// the Lua code that called it, none when it was called from Go (pcall).
func raise(L *lua.LState, format string, args ...any) {
	L.Error(lua.LString(Where(L, 1)+fmt.Sprintf(format, args...)), 0)
}

// checkInteger is luaL_checkinteger: a number with an integer value.
func checkInteger(L *lua.LState, n int, fname string) int64 {
	v := L.Get(n)
	num, ok := v.(lua.LNumber)
	if !ok {
		if s, isStr := v.(lua.LString); isStr {
			// LVAsNumber answers 0 for a string that is not a number.
			if f := lua.LVAsNumber(s); f != 0 || isZeroNumeral(string(s)) {
				num, ok = f, true
			}
		}
	}
	if !ok {
		got := v.Type().String()
		if n > L.GetTop() {
			got = "no value"
		}
		argError(L, n, fname, "number expected, got "+got)
	}
	if !isInteger(float64(num)) {
		argError(L, n, fname, "number has no integer representation")
	}
	return int64(num)
}

func isZeroNumeral(s string) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil && f == 0
}

func optInteger(L *lua.LState, n int, fname string, def int64) int64 {
	if L.Get(n) == lua.LNil {
		return def
	}
	return checkInteger(L, n, fname)
}

func checkString(L *lua.LState, n int, fname string) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	default:
		got := v.Type().String()
		if n > L.GetTop() {
			got = "no value"
		}
		argError(L, n, fname, "string expected, got "+got)
		return ""
	}
}

// lua54Load is Lua 5.4's load(chunk [, chunkname [, mode [, env]]]): chunk
// is a string or a function returning its pieces; errors are returned as
// nil plus Lua's "name:line: message".
func lua54Load(L *lua.LState) int {
	var src string
	defName := "=(load)"
	switch chunk := L.Get(1).(type) {
	case lua.LString:
		src = string(chunk)
		defName = src
	case *lua.LFunction:
		var b strings.Builder
		for {
			// An error in the reader is load's answer, as in Lua 5.4.
			L.Push(chunk)
			if err := L.PCall(0, 1, nil); err != nil {
				L.Push(lua.LNil)
				if api, ok := err.(*lua.ApiError); ok && api.Object != nil {
					L.Push(api.Object)
				} else {
					L.Push(lua.LString(err.Error()))
				}
				return 2
			}
			piece := L.Get(-1)
			L.Pop(1)
			if piece == lua.LNil {
				break
			}
			var str string
			switch p := piece.(type) {
			case lua.LString:
				str = string(p)
			case lua.LNumber:
				str = p.String()
			default:
				L.Push(lua.LNil)
				L.Push(lua.LString(Where(L, 1) + "reader function must return a string"))
				return 2
			}
			s := str
			if len(s) == 0 {
				break
			}
			b.WriteString(string(s))
		}
		src = b.String()
	default:
		got := chunk.Type().String()
		if L.GetTop() == 0 {
			got = "no value"
		}
		argError(L, 1, "load", "function expected, got "+got)
	}
	name := chunkID(defName)
	if L.Get(2) != lua.LNil {
		name = chunkID(checkString(L, 2, "load"))
	}
	mode := "bt"
	if L.Get(3) != lua.LNil {
		mode = checkString(L, 3, "load")
	}
	if !strings.Contains(mode, "t") {
		L.Push(lua.LNil)
		L.Push(lua.LString(fmt.Sprintf("attempt to load a text chunk (mode is '%s')", mode)))
		return 2
	}
	var env *lua.LTable
	if L.GetTop() >= 4 {
		t, ok := L.Get(4).(*lua.LTable)
		if !ok {
			argError(L, 4, "load", "table expected, got "+L.Get(4).Type().String())
		}
		env = t
	}
	proto, err := compileChunk([]byte(src), name)
	if err != nil {
		L.Push(lua.LNil)
		L.Push(lua.LString(err.Error()))
		return 2
	}
	fn := L.NewFunctionFromProto(proto)
	if env != nil {
		fn.Env = env
	}
	L.Push(fn)
	return 1
}

// compileChunk compiles a chunk given to load, its errors worded as Lua's:
// "name:line: message [near 'token']".
func compileChunk(src []byte, name string) (*lua.FunctionProto, error) {
	src, err := rewriteEscapes(src, name)
	if err != nil {
		return nil, err
	}
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		var pe *parse.Error
		if errors.As(err, &pe) {
			msg := strings.TrimSpace(pe.Message)
			if pe.Pos.Line <= 0 { // at the end: the last line, as Lua says
				return nil, fmt.Errorf("%s:%d: %s near <eof>", name, bytes.Count(src, []byte("\n"))+1, msg)
			}
			return nil, fmt.Errorf("%s:%d: %s near '%s'", name, pe.Pos.Line, msg, pe.Token)
		}
		return nil, err
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("%s:%d: %s", name, ce.Line, ce.Message)
		}
		return nil, err
	}
	return proto, nil
}

// chunkID is how Lua 5.4 names a chunk in messages: "=name" is name,
// "@file" is file, anything else is [string "its first line..."].
func chunkID(source string) string {
	const idSize = 60 - 1
	switch {
	case strings.HasPrefix(source, "="):
		s := source[1:]
		if len(s) > idSize {
			s = s[:idSize]
		}
		return s
	case strings.HasPrefix(source, "@"):
		s := source[1:]
		if len(s) > idSize {
			s = "..." + s[len(s)-(idSize-3):]
		}
		return s
	}
	const pre, suf, dots = `[string "`, `"]`, "..."
	room := idSize - len(pre) - len(dots) - len(suf)
	line, _, multi := strings.Cut(source, "\n")
	if !multi && len(source) <= room+len(dots) {
		return pre + source + suf
	}
	if len(line) > room {
		line = line[:room]
	}
	return pre + line + dots + suf
}

func mathUlt(L *lua.LState) int {
	a := checkInteger(L, 1, "ult")
	b := checkInteger(L, 2, "ult")
	L.Push(lua.LBool(uint64(a) < uint64(b)))
	return 1
}

// tableMove is table.move(a1, f, e, t [, a2]), through metamethods as
// Lua 5.4's is.
func tableMove(L *lua.LState) int {
	a1 := L.Get(1)
	f := checkInteger(L, 2, "move")
	e := checkInteger(L, 3, "move")
	t := checkInteger(L, 4, "move")
	a2 := a1
	if L.GetTop() >= 5 && L.Get(5) != lua.LNil {
		a2 = L.Get(5)
	}
	// Like Lua 5.4, a value that is not a table will do if its metatable
	// lets it be read (a1) or written (a2).
	for i, check := range []struct {
		v     lua.LValue
		field string
	}{{a1, "__index"}, {a2, "__newindex"}} {
		if _, ok := check.v.(*lua.LTable); !ok && L.GetMetaField(check.v, check.field) == lua.LNil {
			n := 1
			if i == 1 {
				n = 5
			}
			argError(L, n, "move", "table expected, got "+check.v.Type().String())
		}
	}
	if e >= f {
		if !(f > 0 || e < math.MaxInt64+f) {
			argError(L, 3, "move", "too many elements to move")
		}
		if t > math.MaxInt64-(e-f) {
			argError(L, 4, "move", "destination wrap around")
		}
		if t > e || t <= f || a1 != a2 {
			for i := int64(0); i <= e-f; i++ {
				L.SetTable(a2, lua.LNumber(t+i), L.GetTable(a1, lua.LNumber(f+i)))
			}
		} else {
			for i := e - f; i >= 0; i-- {
				L.SetTable(a2, lua.LNumber(t+i), L.GetTable(a1, lua.LNumber(f+i)))
			}
		}
	}
	L.Push(a2)
	return 1
}

func tablePack(L *lua.LState) int {
	n := L.GetTop()
	t := L.CreateTable(n, 1)
	for i := 1; i <= n; i++ {
		t.RawSetInt(i, L.Get(i))
	}
	t.RawSetString("n", lua.LNumber(n))
	L.Push(t)
	return 1
}

// maxStringSize bounds what string.rep builds: past it, Lua's "resulting
// string too large" instead of exhausting memory.
const maxStringSize = 1 << 31

// stringRep is string.rep(s, n [, sep]).
func stringRep(L *lua.LState) int {
	s := checkString(L, 1, "rep")
	n := checkInteger(L, 2, "rep")
	sep := ""
	if L.Get(3) != lua.LNil {
		sep = checkString(L, 3, "rep")
	}
	if n <= 0 {
		L.Push(lua.LString(""))
		return 1
	}
	if total := float64(len(s)+len(sep))*float64(n) - float64(len(sep)); total >= maxStringSize {
		raise(L, "resulting string too large")
	}
	var b strings.Builder
	b.Grow(len(s)*int(n) + len(sep)*int(n-1))
	for i := int64(0); i < n; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	L.Push(lua.LString(b.String()))
	return 1
}
