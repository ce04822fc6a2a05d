package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// openKumod installs the kumod functions. (Placeholder until implemented.)
func openKumod(s *luart.State, mod *lua.LTable) {}
