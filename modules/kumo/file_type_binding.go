package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/filetype"
)

// kumo.file_type: from_bytes(BYTES) returns a FileTypeResult table (name,
// extensions, media_types); from_extension(EXT) and
// from_media_type(MEDIA_TYPE) return sequences of them. The data differs
// from KumoMTA's: see package filetype.

// openFileType installs kumo.file_type.
func openFileType(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "file_type")
	L.SetFuncs(t, map[string]lua.LGFunction{
		"from_bytes": func(L *lua.LState) int {
			L.Push(fileTypeToLua(L, filetype.FromBytes([]byte(L.CheckString(1)))))
			return 1
		},
		"from_extension": func(L *lua.LState) int {
			L.Push(fileTypesToLua(L, filetype.FromExtension(L.CheckString(1))))
			return 1
		},
		"from_media_type": func(L *lua.LState) int {
			L.Push(fileTypesToLua(L, filetype.FromMediaType(L.CheckString(1))))
			return 1
		},
	})
}

func fileTypeToLua(L *lua.LState, ft filetype.Type) *lua.LTable {
	list := func(ss []string) lua.LValue {
		out := make([]any, len(ss))
		for i, s := range ss {
			out[i] = s
		}
		return luart.ToLua(L, out)
	}
	t := L.CreateTable(0, 3)
	t.RawSetString("name", lua.LString(ft.Name))
	t.RawSetString("extensions", list(ft.Extensions))
	t.RawSetString("media_types", list(ft.MediaTypes))
	return t
}

func fileTypesToLua(L *lua.LState, fts []filetype.Type) *lua.LTable {
	t := L.CreateTable(len(fts), 0)
	for i, ft := range fts {
		t.RawSetInt(i+1, fileTypeToLua(L, ft))
	}
	L.SetMetatable(t, luart.ArrayMetatable(L)) // an empty result is a sequence too
	return t
}
