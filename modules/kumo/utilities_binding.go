package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// openUtilities installs KumoMTA's utility modules that need no services:
// kumo.digest, kumo.encode, kumo.crypto, kumo.time (but sleep) and kumo.string.
func (svc *Services) openUtilities(s *luart.State, mod *lua.LTable) {
	for _, open := range []opener{svc.openDigest, openEncode, svc.openCrypto, openTime, openString} {
		open(s, mod)
	}
}
