package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// openEgress installs the egress functions. (Placeholder until implemented.)
func openEgress(s *luart.State, mod *lua.LTable) {}
