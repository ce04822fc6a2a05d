package luart

import (
	"fmt"
	"math"
	"os"
	"runtime"

	lua "github.com/yuin/gopher-lua"
)

// installCompat adjusts gopher-lua (Lua 5.1) where KumoMTA policies rely on
// Lua 5.4 behaviour:
//
//   - string.format follows Lua's rules (%q, %s calling __tostring, %d
//     rejecting non-numbers); see strformat.go.
//   - pairs honours the __pairs metamethod.
//   - ipairs indexes through metamethods and stops at the first nil, so it
//     accepts any indexable value (ipairs on a string yields nothing).
//   - math.huge is +infinity (gopher-lua uses the largest finite float);
//   - table.unpack exists; math.type and math.tointeger classify numbers
//     (gopher-lua has only float64: integral values count as integers).
//   - tostring and print render numbers as Lua 5.4 does (floats with
//     %.14g, so 1/3 is 0.33333333333333) and honour __name. Concatenation
//     (`'x' .. 1/3`) still uses gopher-lua's rendering, which shows all
//     17 significant digits.
//   - assert raises its message as Lua 5.4's error(msg, 1) does: a string
//     gets the calling Lua code's position, other values stay as they are
//     (gopher-lua formats the message as a printf format).
//   - Lua 5.4's load, utf8, table.move, table.pack, string.rep with a
//     separator, math.maxinteger, math.mininteger and math.ult:
//     lua54lib.go and utf8lib.go (the syntax is in third_party/gopher-lua).
//   - collectgarbage("collect"/"step") does not stop the whole process:
//     gopher-lua would call runtime.GC, which pauses every goroutine for
//     every state; Go's collector runs on its own. "count" still reports.
func installCompat(L *lua.LState) {
	installStringFormat(L)
	installLua54Lib(L)

	L.SetGlobal("pairs", L.NewFunction(compatPairs))
	ipairsIter := L.NewFunction(compatIpairsIter)
	L.SetGlobal("ipairs", L.NewClosure(func(L *lua.LState) int {
		if L.GetTop() == 0 {
			L.ArgError(1, "table expected, got no value")
		}
		v := L.Get(1)
		if v == lua.LNil {
			L.ArgError(1, "table expected, got nil")
		}
		L.Push(ipairsIter)
		L.Push(v)
		L.Push(lua.LNumber(0))
		return 3
	}))
	L.SetGlobal("collectgarbage", L.NewFunction(compatCollectGarbage))
	L.SetGlobal("assert", L.NewFunction(compatAssert))
	L.SetGlobal("error", L.NewFunction(compatError))
	L.SetGlobal("xpcall", L.NewFunction(compatXPCall))
	L.SetGlobal("tostring", L.NewFunction(compatToString))
	L.SetGlobal("print", L.NewFunction(compatPrint))

	tbl := L.GetGlobal("table").(*lua.LTable)
	if tbl.RawGetString("unpack") == lua.LNil {
		tbl.RawSetString("unpack", L.GetGlobal("unpack"))
	}
	m := L.GetGlobal("math").(*lua.LTable)
	m.RawSetString("type", L.NewFunction(mathType))
	m.RawSetString("tointeger", L.NewFunction(mathToInteger))
	// gopher-lua defines math.huge as the largest finite float.
	m.RawSetString("huge", lua.LNumber(math.Inf(1)))
}

func compatPairs(L *lua.LState) int {
	v := L.CheckAny(1)
	if mm := L.GetMetaField(v, "__pairs"); mm != lua.LNil {
		L.Push(mm)
		L.Push(v)
		L.Call(1, 3)
		return 3
	}
	t, ok := v.(*lua.LTable)
	if !ok {
		L.ArgError(1, "table expected, got "+v.Type().String())
	}
	L.Push(L.GetGlobal("next"))
	L.Push(t)
	L.Push(lua.LNil)
	return 3
}

func compatIpairsIter(L *lua.LState) int {
	obj := L.Get(1)
	i := L.CheckInt(2) + 1
	var v lua.LValue
	if t, ok := obj.(*lua.LTable); ok && L.GetMetatable(t) == lua.LNil {
		v = t.RawGetInt(i)
	} else {
		v = L.GetTable(obj, lua.LNumber(i))
	}
	if v == lua.LNil {
		return 0
	}
	L.Push(lua.LNumber(i))
	L.Push(v)
	return 2
}

func compatCollectGarbage(L *lua.LState) int {
	switch opt := L.OptString(1, "collect"); opt {
	case "collect", "step", "incremental", "generational", "restart", "stop":
		L.Push(lua.LNumber(0))
	case "count":
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		L.Push(lua.LNumber(float64(ms.HeapAlloc) / 1024))
	case "isrunning":
		L.Push(lua.LTrue)
	default:
		L.ArgError(1, "invalid option '"+opt+"'")
	}
	return 1
}

func mathType(L *lua.LState) int {
	v := L.CheckAny(1)
	n, ok := v.(lua.LNumber)
	switch {
	case !ok:
		L.Push(lua.LNil)
	case isInteger(float64(n)):
		L.Push(lua.LString("integer"))
	default:
		L.Push(lua.LString("float"))
	}
	return 1
}

func mathToInteger(L *lua.LState) int {
	v := L.Get(1)
	switch n := v.(type) {
	case lua.LNumber:
		if isInteger(float64(n)) {
			L.Push(n)
			return 1
		}
	}
	L.Push(lua.LNil)
	return 1
}

// isInteger reports whether f is integral and representable as int64,
// which is how kumopolicy decides that a Lua number is an integer.
func isInteger(f float64) bool {
	return f == math.Trunc(f) && !math.IsInf(f, 0) && f >= -9.223372036854775808e18 && f < 9.223372036854775808e18
}

func compatAssert(L *lua.LState) int {
	if L.GetTop() == 0 {
		L.ArgError(1, "value expected")
	}
	if lua.LVAsBool(L.Get(1)) {
		return L.GetTop()
	}
	msg := lua.LValue(lua.LString("assertion failed!"))
	if L.GetTop() >= 2 {
		msg = L.Get(2)
	}
	// Lua 5.4 raises the message as error(msg, 1) would: a string gets the
	// position of the Lua code that called assert (none when assert was
	// called from Go, as in pcall(assert, ...)); other values go unchanged.
	if str, ok := msg.(lua.LString); ok {
		msg = lua.LString(Where(L, 1) + string(str))
	}
	L.Error(msg, 0)
	return 0
}

func compatToString(L *lua.LState) int {
	L.Push(lua.LString(ToString(L, L.CheckAny(1))))
	return 1
}

func compatPrint(L *lua.LState) int {
	var b []byte
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b = append(b, '\t')
		}
		b = append(b, ToString(L, L.Get(i))...)
	}
	b = append(b, '\n')
	os.Stdout.Write(b)
	return 0
}

// Where returns "chunk:line: " for the Lua function at the given level of
// L's stack (0 is the running Go function, 1 its caller), or "" when that
// level is a Go function or does not exist: Lua 5.4's luaL_where.
func Where(L *lua.LState, level int) string {
	dbg, ok := L.GetStack(level)
	if !ok {
		return ""
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil || dbg.What == "G" || dbg.CurrentLine <= 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d: ", dbg.Source, dbg.CurrentLine)
}

// compatXPCall is Lua 5.4's xpcall(f, msgh, ...): unlike gopher-lua's, it
// passes the arguments after msgh to f.
func compatXPCall(L *lua.LState) int {
	L.CheckAny(1)
	h := L.CheckFunction(2)
	L.Remove(2)
	if err := L.PCall(L.GetTop()-1, lua.MultRet, h); err != nil {
		L.Push(lua.LFalse)
		if api, ok := err.(*lua.ApiError); ok && api.Object != nil {
			L.Push(api.Object)
		} else {
			L.Push(lua.LString(err.Error()))
		}
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// compatError is Lua 5.4's error(msg [, level]): a string message gets the
// position of the function at that level of the stack (1, the default:
// the function that called error; 2: its caller; 0: none), and nothing
// when that function is not Lua code. gopher-lua's names the line one
// frame short for levels above 1.
func compatError(L *lua.LState) int {
	obj := L.Get(1)
	level := L.OptInt(2, 1)
	if str, ok := obj.(lua.LString); ok && level > 0 {
		obj = lua.LString(Where(L, level) + string(str))
	}
	L.Error(obj, 0)
	return 0
}
