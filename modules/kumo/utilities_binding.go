package kumo

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
)

// openUtilities installs KumoMTA's utility modules that need no services:
// kumo.digest, kumo.encode, kumo.crypto, kumo.time (but sleep) and kumo.string.
func openUtilities(s *luart.State, mod *lua.LTable) {
	for _, open := range []opener{openDigest, openEncode, openCrypto, openTime, openString} {
		open(s, mod)
	}
}
