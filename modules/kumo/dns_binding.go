package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// openDNS installs the dns functions. (Placeholder until implemented.)
func openDNS(s *luart.State, mod *lua.LTable) {}
