package luart

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Frame describes one level of the Lua call stack in the shape of
// kumo.traceback's frame tables.
type Frame struct {
	Event           string // always "Normal" (no hook is running)
	Name            string // function name as seen by the caller, "" if unknown
	NameWhat        string // "global", "method", "field", "local" or ""
	Source          string // "@" + chunk name for Lua code, "=[C]" for Go
	ShortSrc        string // chunk name for Lua code, "[C]" for Go
	LineDefined     int    // -1 for Go functions
	LastLineDefined int    // -1 for Go functions
	What            string // "Lua", "main" or "C"
	CurrentLine     int    // -1 for Go functions
	IsTailCall      bool

	fn *lua.LFunction
}

// Traceback returns the call stack of L from level upward: level 0 is the
// running (Go) function, 1 its caller, and so on, as Lua's debug levels.
// gopher-lua's "G" (Go function) is reported as "C", as in C Lua.
func Traceback(L *lua.LState, level int) []Frame {
	var frames []Frame
	for n := level; ; n++ {
		dbg, ok := L.GetStack(n)
		if !ok {
			break
		}
		fv, err := L.GetInfo("Slnf", dbg, lua.LNil)
		if err != nil {
			break
		}
		fn, _ := fv.(*lua.LFunction)
		f := Frame{Event: "Normal", Name: dbg.Name, fn: fn}
		if fn == nil || fn.IsG {
			f.What = "C"
			f.Source = "=[C]"
			f.ShortSrc = "[C]"
			f.LineDefined, f.LastLineDefined, f.CurrentLine = -1, -1, -1
		} else {
			f.Source = "@" + fn.Proto.SourceName
			f.ShortSrc = fn.Proto.SourceName
			f.LineDefined = fn.Proto.LineDefined
			f.LastLineDefined = fn.Proto.LastLineDefined
			f.CurrentLine = dbg.CurrentLine
			if fn.Proto.LineDefined == 0 {
				f.What = "main"
			} else {
				f.What = "Lua"
			}
			// gopher-lua counts each tail call replaced by a frame as a
			// level of its own (and answers those levels with the bottom
			// frame); Lua 5.4 only marks the frame.
			if tc := tailCalls(dbg); tc > 0 {
				f.IsTailCall = true
				n += tc
			}
		}
		if f.Name == "main chunk" || f.Name == "corountine" || (len(f.Name) > 0 && f.Name[0] == '<') {
			// gopher-lua synthesises these; Lua leaves the name unknown.
			f.Name = ""
		}
		if f.Name != "" {
			f.NameWhat = "global"
			if caller, ok := L.GetStack(n + 1); ok {
				if cv, err := L.GetInfo("lf", caller, lua.LNil); err == nil {
					if cfn, ok := cv.(*lua.LFunction); ok && !cfn.IsG {
						f.NameWhat = callNameWhat(cfn.Proto, caller.CurrentLine, f.Name, f.NameWhat)
					}
				}
			}
		}
		frames = append(frames, f)
	}
	return frames
}

// TracebackTable renders Traceback(L, level) as a Lua array of frame tables
// with KumoMTA's field names (event, name, name_what, source, short_src,
// line_defined, last_line_defined, what, curr_line, is_tail_call). Fields
// that Lua reports as unknown are absent.
func TracebackTable(L *lua.LState, level int) *lua.LTable {
	frames := Traceback(L, level)
	out := L.CreateTable(len(frames), 0)
	for i, f := range frames {
		t := L.CreateTable(0, 10)
		t.RawSetString("event", lua.LString(f.Event))
		if f.Name != "" {
			t.RawSetString("name", lua.LString(f.Name))
			t.RawSetString("name_what", lua.LString(f.NameWhat))
		}
		t.RawSetString("source", lua.LString(f.Source))
		t.RawSetString("short_src", lua.LString(f.ShortSrc))
		if f.LineDefined >= 0 {
			t.RawSetString("line_defined", lua.LNumber(f.LineDefined))
			t.RawSetString("last_line_defined", lua.LNumber(f.LastLineDefined))
		}
		t.RawSetString("what", lua.LString(f.What))
		if f.CurrentLine >= 0 {
			t.RawSetString("curr_line", lua.LNumber(f.CurrentLine))
		}
		t.RawSetString("is_tail_call", lua.LBool(f.IsTailCall))
		out.RawSetInt(i+1, t)
	}
	return out
}

// callNameWhat tells how the function called by name at line of proto was
// reached — "global", "local", "upvalue", "field" or "method", as Lua's
// debug.getinfo reports it — by finding the instruction that loaded the
// called register (the calls on that line named name; the first one
// decides). It returns def when the code does not say.
func callNameWhat(proto *lua.FunctionProto, line int, name, def string) string {
	for _, call := range proto.DbgCalls {
		if call.Name != name || call.Pc >= len(proto.Code) || call.Pc >= len(proto.DbgSourcePositions) || proto.DbgSourcePositions[call.Pc] != line {
			continue
		}
		inst := proto.Code[call.Pc]
		if op := int(inst >> 26); op != lua.OP_CALL && op != lua.OP_TAILCALL {
			continue
		}
		reg := int(inst>>18) & 0xff
		set := findSetReg(proto, call.Pc, reg)
		if set < 0 {
			return def
		}
		switch int(proto.Code[set] >> 26) {
		case lua.OP_GETGLOBAL:
			return "global"
		case lua.OP_GETUPVAL:
			return "upvalue"
		case lua.OP_MOVE, lua.OP_MOVEN:
			return "local"
		case lua.OP_GETTABLE, lua.OP_GETTABLEKS:
			return "field"
		case lua.OP_SELF:
			return "method"
		}
		return def
	}
	return def
}

// findSetReg returns the pc of the last instruction before lastpc that
// wrote register reg, in straight-line order (jumps are not followed), or
// -1. The upvalue pseudo-instructions after CLOSURE are skipped.
func findSetReg(proto *lua.FunctionProto, lastpc, reg int) int {
	set := -1
	for pc := 0; pc < lastpc; pc++ {
		inst := proto.Code[pc]
		op := int(inst >> 26)
		a := int(inst>>18) & 0xff
		b := int(inst & 0x1ff)
		switch op {
		case lua.OP_LOADNIL:
			if a <= reg && reg <= b {
				set = pc
			}
		case lua.OP_CALL, lua.OP_TAILCALL:
			if reg >= a {
				set = pc
			}
		case lua.OP_VARARG:
			if reg >= a && (b == 0 || reg <= a+b-2) {
				set = pc
			}
		case lua.OP_TFORLOOP:
			if reg >= a+2 {
				set = pc
			}
		case lua.OP_SELF:
			if reg == a || reg == a+1 {
				set = pc
			}
		case lua.OP_FORLOOP:
			if reg == a || reg == a+3 {
				set = pc
			}
		case lua.OP_CLOSURE:
			if reg == a {
				set = pc
			}
			if bx := int(inst & 0x3ffff); bx < len(proto.FunctionPrototypes) {
				pc += int(proto.FunctionPrototypes[bx].NumUpvalues)
			}
		case lua.OP_MOVE, lua.OP_MOVEN, lua.OP_LOADK, lua.OP_LOADBOOL, lua.OP_GETUPVAL,
			lua.OP_GETGLOBAL, lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_NEWTABLE,
			lua.OP_ADD, lua.OP_SUB, lua.OP_MUL, lua.OP_DIV, lua.OP_MOD, lua.OP_POW,
			lua.OP_UNM, lua.OP_NOT, lua.OP_LEN, lua.OP_CONCAT, lua.OP_TESTSET, lua.OP_FORPREP:
			if reg == a {
				set = pc
			}
		}
	}
	return set
}

// FormatTraceback renders the stack of L from level upward the way Lua
// 5.4's debug.traceback does: "[C]: in function 'error'", "file:line: in
// local 'f'", "file:line: in function <file:line>" for an unnamed function
// (an event handler called by the host), "in main chunk" only for a
// file's top-level chunk, "(...tail calls...)" after a tail call, and
// "[C]: in ?" for the host's call at the bottom.
func FormatTraceback(L *lua.LState, level int) string {
	frames := Traceback(L, level)
	var b strings.Builder
	b.WriteString("stack traceback:")
	const head, tail = 10, 11
	for i := 0; i < len(frames); i++ {
		if len(frames) > head+tail+1 && i == head {
			skip := len(frames) - head - tail
			fmt.Fprintf(&b, "\n\t...\t(skipping %d levels)", skip)
			i += skip - 1
			continue
		}
		f := frames[i]
		if f.CurrentLine > 0 {
			fmt.Fprintf(&b, "\n\t%s:%d: in ", f.ShortSrc, f.CurrentLine)
		} else {
			fmt.Fprintf(&b, "\n\t%s: in ", f.ShortSrc)
		}
		switch global := globalFuncName(L, f.fn); {
		case global != "":
			fmt.Fprintf(&b, "function '%s'", global)
		case f.Name != "":
			fmt.Fprintf(&b, "%s '%s'", f.NameWhat, f.Name)
		case f.What == "main":
			b.WriteString("main chunk")
		case f.What != "C":
			fmt.Fprintf(&b, "function <%s:%d>", f.ShortSrc, f.LineDefined)
		default:
			b.WriteString("?")
		}
		if f.IsTailCall {
			b.WriteString("\n\t(...tail calls...)")
		}
	}
	b.WriteString("\n\t[C]: in ?")
	return b.String()
}

// tailCalls returns how many tail calls the frame of dbg replaced.
// gopher-lua keeps the count in an unexported field of the frame; it is
// read with reflection, and 0 if that field is not where it is expected.
func tailCalls(dbg *lua.Debug) int {
	v := reflect.ValueOf(dbg).Elem().FieldByName("frame")
	if !v.IsValid() || v.Kind() != reflect.Pointer || v.IsNil() {
		return 0
	}
	tc := v.Elem().FieldByName("TailCall")
	if !tc.IsValid() || !tc.CanInt() {
		return 0
	}
	return int(tc.Int())
}

// globalFuncName finds fn among the fields of the tables in package.loaded
// as Lua 5.4 does ("error", "string.rep", "kumo.on"; "_G." is dropped),
// looking at _G first and the other modules in name order.
func globalFuncName(L *lua.LState, fn *lua.LFunction) string {
	if fn == nil {
		return ""
	}
	pkg, ok := L.GetGlobal("package").(*lua.LTable)
	if !ok {
		return ""
	}
	loaded, ok := pkg.RawGetString("loaded").(*lua.LTable)
	if !ok {
		return ""
	}
	var mods []string
	loaded.ForEach(func(k, v lua.LValue) {
		if ks, ok := k.(lua.LString); ok {
			if _, ok := v.(*lua.LTable); ok {
				mods = append(mods, string(ks))
			}
		}
	})
	sort.Slice(mods, func(i, j int) bool {
		if (mods[i] == "_G") != (mods[j] == "_G") {
			return mods[i] == "_G"
		}
		return mods[i] < mods[j]
	})
	for _, m := range mods {
		t := loaded.RawGetString(m).(*lua.LTable)
		found := ""
		t.ForEach(func(k, v lua.LValue) {
			if ks, ok := k.(lua.LString); ok && v == fn && (found == "" || string(ks) < found) {
				found = string(ks)
			}
		})
		if found != "" {
			if m == "_G" {
				return found
			}
			return m + "." + found
		}
	}
	return ""
}
