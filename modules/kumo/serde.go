package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// openSerde installs the serde functions. (Placeholder until implemented.)
func openSerde(s *luart.State, mod *lua.LTable) {}
