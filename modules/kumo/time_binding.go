package kumo

import (
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/ktime"
)

// kumo.time, as KumoMTA's mod-time (sleep is installed by openCore):
// now, from_unix_timestamp, with_ymd_hms, parse_rfc2822, parse_rfc3339
// return a Time; parse_duration returns a TimeDelta; start_timer returns a
// Timer whose done() (also its __close) returns the elapsed seconds.
// kumopolicy has no metrics endpoint, so the timer records nothing else.
//
// Time fields: year month day hour minute second unix_timestamp
// unix_timestamp_millis rfc2822 rfc3339 elapsed; method format(STRFTIME).
// TimeDelta fields: seconds (float) nanoseconds microseconds milliseconds
// (integers) human. Metamethods: tostring, ==, <, <=, Time±TimeDelta,
// Time-Time, TimeDelta±TimeDelta.

const (
	timeMetaKey      = "kumopolicy.kumo.time.Time"
	timeDeltaMetaKey = "kumopolicy.kumo.time.TimeDelta"
	timerMetaKey     = "kumopolicy.kumo.time.Timer"
)

// timeNow is the clock of kumo.time.now and the elapsed field.
var timeNow = time.Now

type timer struct {
	label string
	start time.Time
}

// openTime installs kumo.time's Time and TimeDelta functions.
func openTime(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "time")
	L.SetFuncs(t, map[string]lua.LGFunction{
		"now": func(L *lua.LState) int {
			pushTime(L, timeNow().UTC())
			return 1
		},
		"from_unix_timestamp": func(L *lua.LState) int {
			tm, err := ktime.FromUnix(float64(L.CheckNumber(1)))
			timeResult(L, "from_unix_timestamp", tm, err)
			return 1
		},
		"with_ymd_hms": func(L *lua.LState) int {
			var f [6]int64
			for i := range f {
				f[i] = checkInt(L, i+1)
			}
			tm, err := ktime.WithYMDHMS(f[0], f[1], f[2], f[3], f[4], f[5])
			timeResult(L, "with_ymd_hms", tm, err)
			return 1
		},
		"parse_rfc2822": func(L *lua.LState) int {
			tm, err := ktime.ParseRFC2822(L.CheckString(1))
			timeResult(L, "parse_rfc2822", tm, err)
			return 1
		},
		"parse_rfc3339": func(L *lua.LState) int {
			tm, err := ktime.ParseRFC3339(L.CheckString(1))
			timeResult(L, "parse_rfc3339", tm, err)
			return 1
		},
		"parse_duration": func(L *lua.LState) int {
			var d time.Duration
			var err error
			switch v := L.Get(1).(type) {
			case lua.LNumber:
				d, err = ktime.DeltaFromSeconds(float64(v))
			case lua.LString:
				d, err = ktime.ParseDelta(string(v))
			case *lua.LUserData:
				dd, ok := v.Value.(time.Duration)
				if !ok {
					L.ArgError(1, "number, string or TimeDelta expected")
				}
				d = dd
			default:
				L.ArgError(1, "number or string expected")
			}
			if err != nil {
				L.RaiseError("kumo.time.parse_duration: %v", err)
			}
			pushDelta(L, d)
			return 1
		},
		"start_timer": func(L *lua.LState) int {
			ud := L.NewUserData()
			ud.Value = &timer{label: L.CheckString(1), start: time.Now()}
			L.SetMetatable(ud, timerMetatable(L))
			L.Push(ud)
			return 1
		},
	})
}

// checkInt returns argument n as an integer, raising for fractions.
func checkInt(L *lua.LState, n int) int64 {
	f := float64(L.CheckNumber(n))
	if f != float64(int64(f)) {
		L.ArgError(n, fmt.Sprintf("integer expected, got %v", f))
	}
	return int64(f)
}

func timeResult(L *lua.LState, fname string, tm time.Time, err error) {
	if err != nil {
		L.RaiseError("kumo.time.%s: %v", fname, err)
	}
	pushTime(L, tm)
}

func pushTime(L *lua.LState, tm time.Time) {
	ud := L.NewUserData()
	ud.Value = tm
	L.SetMetatable(ud, timeMetatable(L))
	L.Push(ud)
}

func pushDelta(L *lua.LState, d time.Duration) {
	ud := L.NewUserData()
	ud.Value = d
	L.SetMetatable(ud, deltaMetatable(L))
	L.Push(ud)
}

func asTime(v lua.LValue) (time.Time, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		tm, ok := ud.Value.(time.Time)
		return tm, ok
	}
	return time.Time{}, false
}

func asDelta(v lua.LValue) (time.Duration, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		d, ok := ud.Value.(time.Duration)
		return d, ok
	}
	return 0, false
}

func timeMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(timeMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("Time"))
	fields := map[string]func(L *lua.LState, tm time.Time){
		"year":                  func(L *lua.LState, tm time.Time) { L.Push(lua.LNumber(tm.Year())) },
		"month":                 func(L *lua.LState, tm time.Time) { L.Push(lua.LNumber(tm.Month())) },
		"day":                   func(L *lua.LState, tm time.Time) { L.Push(lua.LNumber(tm.Day())) },
		"hour":                  func(L *lua.LState, tm time.Time) { L.Push(lua.LNumber(tm.Hour())) },
		"minute":                func(L *lua.LState, tm time.Time) { L.Push(lua.LNumber(tm.Minute())) },
		"second":                func(L *lua.LState, tm time.Time) { L.Push(lua.LNumber(tm.Second())) },
		"unix_timestamp":        func(L *lua.LState, tm time.Time) { L.Push(lua.LNumber(tm.Unix())) },
		"unix_timestamp_millis": func(L *lua.LState, tm time.Time) { L.Push(lua.LNumber(tm.UnixMilli())) },
		"rfc2822":               func(L *lua.LState, tm time.Time) { L.Push(lua.LString(ktime.RFC2822(tm))) },
		"rfc3339":               func(L *lua.LState, tm time.Time) { L.Push(lua.LString(ktime.RFC3339(tm))) },
		"elapsed":               func(L *lua.LState, tm time.Time) { pushDelta(L, timeNow().Sub(tm)) },
		"format": func(L *lua.LState, _ time.Time) {
			L.Push(L.NewFunction(func(L *lua.LState) int {
				tm, ok := asTime(L.Get(1))
				if !ok {
					L.ArgError(1, "Time expected (call it as t:format(FORMAT))")
				}
				L.Push(lua.LString(ktime.Format(tm, L.CheckString(2))))
				return 1
			}))
		},
	}
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		tm, _ := asTime(L.Get(1))
		key := L.CheckString(2)
		f, ok := fields[key]
		if !ok {
			L.RaiseError("Time has no field %q", key)
		}
		f(L, tm)
		return 1
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		tm, _ := asTime(L.Get(1))
		L.Push(lua.LString(ktime.Display(tm)))
		return 1
	}))
	mt.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
		a, aok := asTime(L.Get(1))
		b, bok := asTime(L.Get(2))
		L.Push(lua.LBool(aok && bok && a.Equal(b)))
		return 1
	}))
	cmp := func(name string, f func(a, b time.Time) bool) {
		mt.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			a, aok := asTime(L.Get(1))
			b, bok := asTime(L.Get(2))
			if !aok || !bok {
				L.RaiseError("a Time can only be compared with a Time")
			}
			L.Push(lua.LBool(f(a, b)))
			return 1
		}))
	}
	cmp("__lt", func(a, b time.Time) bool { return a.Before(b) })
	cmp("__le", func(a, b time.Time) bool { return !b.Before(a) })
	mt.RawSetString("__add", L.NewFunction(func(L *lua.LState) int {
		a, aok := asTime(L.Get(1))
		d, dok := asDelta(L.Get(2))
		if !aok || !dok {
			// TimeDelta + Time
			d, dok = asDelta(L.Get(1))
			a, aok = asTime(L.Get(2))
		}
		if !aok || !dok {
			L.RaiseError("a Time can only be added to a TimeDelta")
		}
		pushTime(L, a.Add(d))
		return 1
	}))
	mt.RawSetString("__sub", L.NewFunction(func(L *lua.LState) int {
		a, aok := asTime(L.Get(1))
		if !aok {
			L.RaiseError("only a Time or a TimeDelta can be subtracted from a Time")
		}
		if d, ok := asDelta(L.Get(2)); ok {
			pushTime(L, a.Add(-d))
			return 1
		}
		if b, ok := asTime(L.Get(2)); ok {
			pushDelta(L, a.Sub(b))
			return 1
		}
		L.RaiseError("only a Time or a TimeDelta can be subtracted from a Time")
		return 0
	}))
	L.G.Registry.RawSetString(timeMetaKey, mt)
	return mt
}

func deltaMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(timeDeltaMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("TimeDelta"))
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		d, _ := asDelta(L.Get(1))
		switch key := L.CheckString(2); key {
		case "seconds":
			L.Push(lua.LNumber(d.Seconds()))
		case "nanoseconds":
			L.Push(lua.LNumber(d.Nanoseconds()))
		case "microseconds":
			L.Push(lua.LNumber(d.Microseconds()))
		case "milliseconds":
			L.Push(lua.LNumber(d.Milliseconds()))
		case "human":
			L.Push(lua.LString(ktime.Human(d)))
		default:
			L.RaiseError("TimeDelta has no field %q", key)
		}
		return 1
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		d, _ := asDelta(L.Get(1))
		L.Push(lua.LString(ktime.Human(d)))
		return 1
	}))
	mt.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
		a, aok := asDelta(L.Get(1))
		b, bok := asDelta(L.Get(2))
		L.Push(lua.LBool(aok && bok && a == b))
		return 1
	}))
	arith := func(name, verb string, f func(a, b time.Duration) time.Duration) {
		mt.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			a, aok := asDelta(L.Get(1))
			b, bok := asDelta(L.Get(2))
			if !aok || !bok {
				if _, isTime := asTime(L.Get(2)); isTime && name == "__add" {
					// TimeDelta + Time: Time's __add is not consulted first.
					tm, _ := asTime(L.Get(2))
					pushTime(L, tm.Add(a))
					return 1
				}
				L.RaiseError("a TimeDelta can only be %s a TimeDelta", verb)
			}
			pushDelta(L, f(a, b))
			return 1
		}))
	}
	arith("__add", "added to", func(a, b time.Duration) time.Duration { return a + b })
	arith("__sub", "subtracted from", func(a, b time.Duration) time.Duration { return a - b })
	cmp := func(name string, f func(a, b time.Duration) bool) {
		mt.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			a, aok := asDelta(L.Get(1))
			b, bok := asDelta(L.Get(2))
			if !aok || !bok {
				L.RaiseError("a TimeDelta can only be compared with a TimeDelta")
			}
			L.Push(lua.LBool(f(a, b)))
			return 1
		}))
	}
	cmp("__lt", func(a, b time.Duration) bool { return a < b })
	cmp("__le", func(a, b time.Duration) bool { return a <= b })
	L.G.Registry.RawSetString(timeDeltaMetaKey, mt)
	return mt
}

func timerMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(timerMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	done := L.NewFunction(func(L *lua.LState) int {
		ud := L.CheckUserData(1)
		tm, ok := ud.Value.(*timer)
		if !ok {
			L.ArgError(1, "Timer expected (call it as timer:done())")
		}
		L.Push(lua.LNumber(time.Since(tm.start).Seconds()))
		return 1
	})
	methods := L.NewTable()
	methods.RawSetString("done", done)
	mt.RawSetString("__index", methods)
	mt.RawSetString("__close", done)
	mt.RawSetString("__name", lua.LString("Timer"))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		tm, _ := L.CheckUserData(1).Value.(*timer)
		label := ""
		if tm != nil {
			label = tm.label
		}
		L.Push(lua.LString(fmt.Sprintf("Timer(%q)", label)))
		return 1
	}))
	L.G.Registry.RawSetString(timerMetaKey, mt)
	return mt
}
