package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// openRegex installs the regex functions. (Placeholder until implemented.)
func openRegex(s *luart.State, mod *lua.LTable) {}
