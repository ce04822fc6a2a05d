package kumo

import (
	"fmt"
	"math"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/mpsc"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.mpsc.define(NAME [, LIMIT]) returns a named queue shared by every
// state of the runtime (see package mpsc). Values travel in kumo.memoize's
// frozen form, so a queue carries what kumo.memoize can cache (tables,
// scalars, memoizable userdata such as CidrMap) and refuses the rest; each
// receive materialises a fresh value in the receiving state. Waits honour
// the state's context (the event's timeout, shutdown).

const mpscMetaKey = "kumopolicy.kumo.MpscQueue"

// openMpsc installs kumo.mpsc.
func (svc *Services) openMpsc(s *luart.State, mod *lua.LTable) {
	L := s.L
	reg := svc.Mpsc
	t := subTable(L, mod, "mpsc")
	t.RawSetString("define", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		limit := 0
		if v := L.Get(2); v != lua.LNil {
			n, ok := v.(lua.LNumber)
			f := float64(n)
			if !ok || f != math.Trunc(f) || f < 1 || f > math.MaxInt32 {
				L.RaiseError("kumo.mpsc.define: the limit must be a non-zero positive integer, got %s", luart.Describe(v))
			}
			limit = int(f)
		}
		ud := L.NewUserData()
		ud.Value = reg.Define(name, limit)
		L.SetMetatable(ud, mpscMetatable(L))
		L.Push(ud)
		return 1
	}))
}

func mpscMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(mpscMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("MpscQueue"))
	methods := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"send": func(L *lua.LState) int {
			q := checkQueue(L, "send")
			if err := q.Send(luart.StateOf(L).Context(), mpscFreeze(L, "send")); err != nil {
				L.RaiseError("queue:send: %v", err)
			}
			return 0
		},
		"send_timeout": func(L *lua.LState) int {
			q := checkQueue(L, "send_timeout")
			v := mpscFreeze(L, "send_timeout")
			secs, ok := L.Get(3).(lua.LNumber)
			if !ok {
				L.RaiseError("queue:send_timeout: TIMEOUT_SECONDS must be a number, got %s", luart.Describe(L.Get(3)))
			}
			d, err := plain.DurationFromSeconds(float64(secs))
			if err != nil {
				L.RaiseError("queue:send_timeout: %v", err)
			}
			if err := q.SendTimeout(luart.StateOf(L).Context(), v, d); err != nil {
				L.RaiseError("queue:send_timeout: %v", err)
			}
			return 0
		},
		"try_send": func(L *lua.LState) int {
			q := checkQueue(L, "try_send")
			L.Push(lua.LBool(q.TrySend(mpscFreeze(L, "try_send"))))
			return 1
		},
		"recv": func(L *lua.LState) int {
			q := checkQueue(L, "recv")
			v, ok, err := q.Recv(luart.StateOf(L).Context())
			if err != nil {
				L.RaiseError("queue:recv: %v", err)
			}
			L.Push(mpscThaw(L, v, ok))
			return 1
		},
		"try_recv": func(L *lua.LState) int {
			q := checkQueue(L, "try_recv")
			v, ok, err := q.TryRecv()
			if err != nil {
				L.RaiseError("queue:try_recv: %v", err)
			}
			L.Push(mpscThaw(L, v, ok))
			return 1
		},
		"recv_many": func(L *lua.LState) int {
			q := checkQueue(L, "recv_many")
			n, ok := L.Get(2).(lua.LNumber)
			f := float64(n)
			if !ok || f != math.Trunc(f) || f < 1 || f > math.MaxInt32 {
				L.RaiseError("queue:recv_many: LIMIT must be a positive integer, got %s", luart.Describe(L.Get(2)))
			}
			items, ok, err := q.RecvMany(luart.StateOf(L).Context(), int(f))
			if err != nil {
				L.RaiseError("queue:recv_many: %v", err)
			}
			if !ok {
				L.Push(lua.LNil)
				return 1
			}
			t := L.CreateTable(len(items), 0)
			for i, v := range items {
				t.RawSetInt(i+1, mpscThaw(L, v, true))
			}
			L.Push(t)
			return 1
		},
		"close": func(L *lua.LState) int {
			checkQueue(L, "close").Close()
			return 0
		},
		"is_closed": func(L *lua.LState) int {
			L.Push(lua.LBool(checkQueue(L, "is_closed").IsClosed()))
			return 1
		},
		"len": func(L *lua.LState) int {
			n, err := checkQueue(L, "len").Len()
			if err != nil {
				L.RaiseError("queue:len: %v", err)
			}
			L.Push(lua.LNumber(n))
			return 1
		},
		"is_empty": func(L *lua.LState) int {
			n, err := checkQueue(L, "is_empty").Len()
			if err != nil {
				L.RaiseError("queue:is_empty: %v", err)
			}
			L.Push(lua.LBool(n == 0))
			return 1
		},
	})
	mt.RawSetString("__index", methods)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		q := checkQueue(L, "__tostring")
		L.Push(lua.LString(fmt.Sprintf("MpscQueue(%s)", q.Name())))
		return 1
	}))
	L.G.Registry.RawSetString(mpscMetaKey, mt)
	return mt
}

func checkQueue(L *lua.LState, method string) *mpsc.Queue {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if q, ok := ud.Value.(*mpsc.Queue); ok {
			return q
		}
	}
	L.RaiseError("queue:%s: expected a queue as self (call it as queue:%s(...))", method, method)
	return nil
}

// mpscFreeze converts argument 2 to the state-independent form a queue
// carries.
func mpscFreeze(L *lua.LState, method string) memoValue {
	v, err := memoFreeze(L.Get(2), nil)
	if err != nil {
		L.RaiseError("queue:%s: %v", method, err)
	}
	return v
}

// mpscThaw materialises a received value in L (nil when none).
func mpscThaw(L *lua.LState, v any, ok bool) lua.LValue {
	if !ok {
		return lua.LNil
	}
	mv := v.(memoValue)
	return mv.lua(L)
}
