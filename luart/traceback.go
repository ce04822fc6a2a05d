package luart

import (
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
		f := Frame{Event: "Normal", Name: dbg.Name}
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
			f.IsTailCall = dbg.What == "tail"
		}
		if f.Name == "main chunk" || f.Name == "corountine" || (len(f.Name) > 0 && f.Name[0] == '<') {
			// gopher-lua synthesises these; Lua leaves the name unknown.
			f.Name = ""
		}
		if f.Name != "" {
			f.NameWhat = "global"
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
