package kumo

import (
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/aesblock"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.crypto, as KumoMTA's mod-crypto, where Go's standard library covers
// it: aes_encrypt_block(ALGORITHM, DATA, {key=KeySource}) and
// aes_decrypt_block(...), ALGORITHM 'Cbc' or 'Ecb' (see package aesblock),
// both returning a BinaryResult. aws_sign_v4 raises a not-supported error.

// openCrypto installs kumo.crypto.
func (svc *Services) openCrypto(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "crypto")
	t.RawSetString("aes_encrypt_block", L.NewFunction(aesBlockFunc("aes_encrypt_block", aesblock.Encrypt, svc.Paths)))
	t.RawSetString("aes_decrypt_block", L.NewFunction(aesBlockFunc("aes_decrypt_block", aesblock.Decrypt, svc.Paths)))
	t.RawSetString("aws_sign_v4", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("kumo.crypto.aws_sign_v4 is not supported by kumopolicy yet")
		return 0
	}))
}

func aesBlockFunc(name string, op func(aesblock.Mode, []byte, []byte) ([]byte, error), pm *paths.Map) lua.LGFunction {
	return func(L *lua.LState) int {
		fail := func(err error) { raise(L, fmt.Errorf("kumo.crypto.%s: %w", name, err)) }
		mode, err := aesblock.ParseMode(L.CheckString(1))
		if err != nil {
			fail(err)
		}
		var data []byte
		switch v := L.Get(2).(type) {
		case lua.LString:
			data = []byte(v)
		case *lua.LUserData:
			b, ok := v.Value.(binaryResult)
			if !ok {
				L.ArgError(2, "string or BinaryResult expected")
			}
			data = b
		default:
			L.ArgError(2, "string or BinaryResult expected")
		}
		params, err := luart.ToGo(L.Get(3))
		if err != nil {
			fail(err)
		}
		m, err := plain.AsMap(params, "a table {key=KeySource}")
		if err != nil {
			fail(err)
		}
		rawKey, ok := m["key"]
		if !ok {
			fail(plain.MissingField("key"))
		}
		key, err := keySourceBytes(rawKey, pm)
		if err != nil {
			fail(plain.AtField(err, "key"))
		}
		out, err := op(mode, key, data)
		if err != nil {
			fail(err)
		}
		pushBinaryResult(L, out)
		return 1
	}
}
