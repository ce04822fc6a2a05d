package kumo

import (
	"fmt"

	"github.com/google/uuid"
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// kumo.uuid: new_v1, new_v4, new_v6, new_v7 and parse, returning Uuid
// objects whose fields give the encodings KumoMTA documents (bytes,
// hyphenated, simple, braced, urn) and whose tostring is the hyphenated
// form. github.com/google/uuid does the work (RFC 9562; v1 and v6 take
// their node id from a network interface as KumoMTA's do).

const uuidMetaKey = "kumopolicy.kumo.Uuid"

func openUUID(s *luart.State, mod *lua.LTable) {
	L := s.L
	mt := L.NewTypeMetatable(uuidMetaKey)
	L.SetField(mt, "__index", L.NewFunction(uuidIndex))
	L.SetField(mt, "__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(checkUUID(L, 1).String()))
		return 1
	}))
	L.SetField(mt, "__eq", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LBool(checkUUID(L, 1) == checkUUID(L, 2)))
		return 1
	}))
	gen := func(name string, fn func() (uuid.UUID, error)) lua.LGFunction {
		return func(L *lua.LState) int {
			u, err := fn()
			if err != nil {
				raise(L, fmt.Errorf("kumo.uuid.%s: %w", name, err))
			}
			pushUUID(L, u)
			return 1
		}
	}
	L.SetFuncs(subTable(L, mod, "uuid"), map[string]lua.LGFunction{
		"new_v1": gen("new_v1", uuid.NewUUID),
		"new_v4": gen("new_v4", uuid.NewRandom),
		"new_v6": gen("new_v6", uuid.NewV6),
		"new_v7": gen("new_v7", uuid.NewV7),
		"parse": func(L *lua.LState) int {
			text := L.CheckString(1)
			u, err := uuid.Parse(text)
			if err != nil {
				raise(L, fmt.Errorf("kumo.uuid.parse: %q is not a UUID: %w", text, err))
			}
			pushUUID(L, u)
			return 1
		},
	})
}

func pushUUID(L *lua.LState, u uuid.UUID) {
	ud := L.NewUserData()
	ud.Value = u
	L.SetMetatable(ud, L.GetTypeMetatable(uuidMetaKey))
	L.Push(ud)
}

func checkUUID(L *lua.LState, n int) uuid.UUID {
	if ud, ok := L.Get(n).(*lua.LUserData); ok {
		if u, ok := ud.Value.(uuid.UUID); ok {
			return u
		}
	}
	L.ArgError(n, "expected a Uuid")
	return uuid.UUID{}
}

func uuidIndex(L *lua.LState) int {
	u := checkUUID(L, 1)
	var v string
	switch field := L.CheckString(2); field {
	case "bytes":
		v = string(u[:])
	case "hyphenated":
		v = u.String()
	case "simple":
		v = fmt.Sprintf("%x", u[:])
	case "braced":
		v = "{" + u.String() + "}"
	case "urn":
		v = u.URN()
	default:
		L.RaiseError("Uuid has no field %q (it has bytes, hyphenated, simple, braced and urn)", field)
	}
	L.Push(lua.LString(v))
	return 1
}
