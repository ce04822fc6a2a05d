package kumo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/internal/diaglog"
	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
)

// openCore installs the event, logging, task, epoch, validation, reject
// and traceback functions.
func openCore(s *luart.State, mod *lua.LTable) {
	L := s.L
	mod.RawSetString("version", lua.LString(Version))
	L.SetFuncs(mod, map[string]lua.LGFunction{
		"on":                    kumoOn,
		"get_event_registrars":  kumoGetEventRegistrars,
		"log_error":             logAt(slog.LevelError),
		"log_warn":              logAt(slog.LevelWarn),
		"log_info":              logAt(slog.LevelInfo),
		"log_debug":             logAt(slog.LevelDebug),
		"sleep":                 kumoSleep,
		"spawn_task":            kumoSpawnTask,
		"bump_config_epoch":     kumoBumpConfigEpoch,
		"validation_failed":     kumoValidationFailed,
		"reject":                kumoReject,
		"traceback":             kumoTraceback,
		"available_parallelism": kumoAvailableParallelism,

		"set_diagnostic_log_filter": kumoSetDiagnosticLogFilter,

		"set_max_spare_lua_contexts":    kumoSetMaxSpare,
		"set_max_lua_context_use_count": kumoSetMaxUses,
		"set_max_lua_context_age":       kumoSetMaxAge,
		"set_lua_gc_on_put":             kumoSetLuaGCOnPut,
	})
	timeMod := subTable(L, mod, "time")
	timeMod.RawSetString("sleep", mod.RawGetString("sleep"))
}

func kumoOn(L *lua.LState) int {
	name := L.CheckString(1)
	fn := L.CheckFunction(2)
	if err := luart.Register(L, name, fn); err != nil {
		raise(L, err)
	}
	return 0
}

// kumoSetDiagnosticLogFilter replaces the diagnostic log filter (see
// package diaglog for the directive syntax) of the host's logger.
func kumoSetDiagnosticLogFilter(L *lua.LState) int {
	text := L.CheckString(1)
	setter, ok := luart.StateOf(L).Runtime().Logger().Handler().(diaglog.FilterSetter)
	if !ok {
		L.RaiseError("kumo.set_diagnostic_log_filter: this host's logger has no filter to set (build it with kumopolicy.New)")
	}
	if err := setter.SetFilter(text); err != nil {
		L.RaiseError("kumo.set_diagnostic_log_filter: invalid filter %q: %v", text, err)
	}
	return 0
}

func kumoGetEventRegistrars(L *lua.LState) int {
	name := L.CheckString(1)
	stacks := luart.StateOf(L).Registrars(name)
	if len(stacks) == 0 {
		L.Push(lua.LNil)
		return 1
	}
	out := L.CreateTable(len(stacks), 0)
	for i, st := range stacks {
		frames := L.CreateTable(len(st), 0)
		for j, f := range st {
			frames.RawSetInt(j+1, lua.LString(f))
		}
		out.RawSetInt(i+1, frames)
	}
	L.Push(out)
	return 1
}

// logAt builds kumo.log_<level>: the arguments are rendered like tostring
// (invalid UTF-8 bytes as \xNN), joined by spaces and prefixed with the
// caller's file:line.
func logAt(level slog.Level) lua.LGFunction {
	return func(L *lua.LState) int {
		s := luart.StateOf(L)
		logger := s.Runtime().Logger()
		if !logger.Enabled(s.Context(), level) {
			return 0
		}
		var b strings.Builder
		for i := 1; i <= L.GetTop(); i++ {
			if i > 1 {
				b.WriteByte(' ')
			}
			writeLogValue(&b, luart.ToString(L, L.Get(i)))
		}
		logger.Log(s.Context(), level, callerPosition(L)+": "+b.String(), "target", "lua")
		return 0
	}
}

func writeLogValue(b *strings.Builder, s string) {
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && size <= 1 {
			fmt.Fprintf(b, "\\x%02X", s[0])
			s = s[1:]
			continue
		}
		b.WriteString(s[:size])
		s = s[size:]
	}
}

// callerPosition returns "file:line" of the innermost Lua frame.
func callerPosition(L *lua.LState) string {
	for _, f := range luart.Traceback(L, 1) {
		if f.What != "C" {
			return fmt.Sprintf("%s:%d", f.ShortSrc, max(f.CurrentLine, 0))
		}
	}
	return "?"
}

func kumoSleep(L *lua.LState) int {
	secs := float64(L.CheckNumber(1))
	if err := luart.Sleep(L, secs); err != nil {
		L.RaiseError("kumo.sleep interrupted: %v", err)
	}
	return 0
}

func kumoSpawnTask(L *lua.LState) int {
	g, err := luart.ToGo(L.Get(1))
	var task kumod.SpawnTask
	if err == nil {
		task, err = kumod.DecodeSpawnTask(g)
	}
	if err != nil {
		raise(L, fmt.Errorf("kumo.spawn_task: %w", err))
	}
	if err := luart.StateOf(L).Runtime().SpawnTask(task.EventName, task.Args); err != nil {
		raise(L, err)
	}
	return 0
}

func kumoBumpConfigEpoch(L *lua.LState) int {
	luart.StateOf(L).Runtime().BumpEpoch()
	return 0
}

func kumoValidationFailed(L *lua.LState) int {
	luart.StateOf(L).Runtime().MarkValidationFailed()
	return 0
}

func kumoTraceback(L *lua.LState) int {
	level := L.CheckInt(1)
	if level < 0 {
		L.ArgError(1, "level must not be negative")
	}
	L.Push(luart.TracebackTable(L, level))
	return 1
}

func kumoAvailableParallelism(L *lua.LState) int {
	L.Push(lua.LNumber(runtime.NumCPU()))
	return 1
}

// RejectError is the structured error raised by kumo.reject(code, message).
// A Go caller recognises it with errors.As on the error a dispatch returns.
type RejectError struct {
	Code    int
	Message string
}

func (e *RejectError) Error() string { return fmt.Sprintf("%d %s", e.Code, e.Message) }

// Transient reports a 4xx rejection (retry later).
func (e *RejectError) Transient() bool { return e.Code >= 400 && e.Code < 500 }

// Disconnect reports a 421 rejection (close the connection too).
func (e *RejectError) Disconnect() bool { return e.Code == 421 }

// AsReject extracts the RejectError a dispatch error carries, if any.
func AsReject(err error) (*RejectError, bool) {
	var re *RejectError
	if errors.As(err, &re) {
		return re, true
	}
	return nil, false
}

func kumoReject(L *lua.LState) int {
	code := L.CheckInt(1)
	msg := L.CheckString(2)
	if code < 100 || code > 599 {
		L.ArgError(1, fmt.Sprintf("SMTP status code must be between 100 and 599, got %d", code))
	}
	raiseReject(L, code, msg, 1)
	return 0
}

// raiseReject raises the error kumo.reject(code, msg) raises, at level.
func raiseReject(L *lua.LState, code int, msg string, level int) {
	ud := L.NewUserData()
	ud.Value = &RejectError{Code: code, Message: msg}
	mt := L.NewTable()
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		u := L.CheckUserData(1)
		L.Push(lua.LString(u.Value.(*RejectError).Error()))
		return 1
	}))
	mt.RawSetString("__name", lua.LString("kumo.RejectError"))
	L.SetMetatable(ud, mt)
	L.Error(ud, level)
}

// contextOf is a shorthand for the dispatch context of L.
func contextOf(L *lua.LState) context.Context { return luart.StateOf(L).Context() }

// formatNumber renders a number as Lua 5.4's tostring does.
func formatNumber(f float64) string { return luart.NumberToString(f) }

// checkCount reads argument n as a non-negative integer.
func checkCount(L *lua.LState, n int) int {
	v := float64(L.CheckNumber(n))
	if v < 0 || v != float64(int64(v)) {
		L.ArgError(n, "expected a non-negative integer")
	}
	return int(v)
}

func kumoSetMaxSpare(L *lua.LState) int {
	luart.StateOf(L).Runtime().SetMaxSpare(checkCount(L, 1))
	return 0
}

func kumoSetMaxUses(L *lua.LState) int {
	luart.StateOf(L).Runtime().SetMaxUses(checkCount(L, 1))
	return 0
}

// kumoSetMaxAge takes seconds, as KumoMTA does.
func kumoSetMaxAge(L *lua.LState) int {
	luart.StateOf(L).Runtime().SetMaxAge(time.Duration(checkCount(L, 1)) * time.Second)
	return 0
}

// kumoSetLuaGCOnPut is accepted for compatibility: KumoMTA runs a Lua
// collection when a state returns to the pool; gopher-lua's memory is
// managed by Go's collector, so there is nothing to do.
func kumoSetLuaGCOnPut(L *lua.LState) int {
	checkCount(L, 1)
	return 0
}
