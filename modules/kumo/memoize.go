package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// openMemoize installs the memoize functions. (Placeholder until implemented.)
func openMemoize(s *luart.State, mod *lua.LTable) {}
