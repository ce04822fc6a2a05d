package kumo

import (
	"encoding/json"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/admin"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.api.admin.{suspend_ready_q,suspend,bounce}: the runtime's admin
// registry (Services.Admin), shared by every state and by the admin HTTP
// routes of `kumopolicy serve`.

func (svc *Services) openAdmin(s *luart.State, mod *lua.LTable) {
	L := s.L
	reg := svc.Admin
	adm := subTable(L, subTable(L, mod, "api"), "admin")

	readyQ := subTable(L, adm, "suspend_ready_q")
	readyQ.RawSetString("suspend", L.NewFunction(adminCreate("suspend_ready_q.suspend", func(v any) (string, error) {
		req, err := admin.DecodeReadyQRequest(v)
		if err != nil {
			return "", err
		}
		return reg.SuspendReadyQ(req), nil
	})))
	readyQ.RawSetString("list", L.NewFunction(adminList(func() any { return reg.ListReadyQ() })))
	readyQ.RawSetString("delete", L.NewFunction(adminDelete(reg, admin.ReadyQ, "suspend_ready_q.delete")))

	sus := subTable(L, adm, "suspend")
	sus.RawSetString("suspend", L.NewFunction(adminCreate("suspend.suspend", func(v any) (string, error) {
		req, err := admin.DecodeSuspendRequest(v)
		if err != nil {
			return "", err
		}
		return reg.Suspend(req), nil
	})))
	sus.RawSetString("list", L.NewFunction(adminList(func() any { return reg.ListSuspend() })))
	sus.RawSetString("delete", L.NewFunction(adminDelete(reg, admin.Suspend, "suspend.delete")))

	b := subTable(L, adm, "bounce")
	b.RawSetString("bounce", L.NewFunction(adminCreate("bounce.bounce", func(v any) (string, error) {
		req, err := admin.DecodeBounceRequest(v)
		if err != nil {
			return "", err
		}
		return reg.Bounce(req), nil
	})))
	b.RawSetString("list", L.NewFunction(adminList(func() any { return reg.ListBounce() })))
	b.RawSetString("delete", L.NewFunction(adminDelete(reg, admin.Bounce, "bounce.delete")))
}

func adminCreate(name string, create func(any) (string, error)) lua.LGFunction {
	return func(L *lua.LState) int {
		v, err := luart.ToGo(L.Get(1))
		if err != nil {
			raise(L, fmt.Errorf("kumo.api.admin.%s: %w", name, err))
		}
		id, err := create(v)
		if err != nil {
			raise(L, fmt.Errorf("kumo.api.admin.%s: %w", name, err))
		}
		L.Push(lua.LString(id))
		return 1
	}
}

// adminList returns the list entries as Lua tables, in the shape of the
// HTTP routes' JSON (null fields absent).
func adminList(list func() any) lua.LGFunction {
	return func(L *lua.LState) int {
		data, err := json.Marshal(list())
		if err != nil {
			raise(L, err)
		}
		v, _, err := plain.ParseJSON(data, plain.ParseOptions{})
		if err != nil {
			raise(L, err)
		}
		L.Push(luart.ToLua(L, v))
		return 1
	}
}

func adminDelete(reg *admin.Registry, kind admin.Kind, name string) lua.LGFunction {
	return func(L *lua.LState) int {
		id, ok := L.Get(1).(lua.LString)
		if !ok {
			raise(L, fmt.Errorf("kumo.api.admin.%s: invalid type: %s, expected a string id", name, luart.Describe(L.Get(1))))
		}
		L.Push(lua.LBool(reg.Delete(kind, string(id))))
		return 1
	}
}
