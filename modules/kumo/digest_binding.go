package kumo

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"os"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.digest, as KumoMTA's mod-digest: each digest function hashes all
// of its arguments in order (strings as their bytes, any other value as
// its JSON text) and returns a BinaryResult; the hmac_* functions take a
// KeySource and a message. All algorithms are Go's standard library.
//
// A BinaryResult (also returned by kumo.crypto) has the fields bytes,
// hex, base32, base32_nopad, base32hex, base32hex_nopad, base64,
// base64_nopad, base64url and base64url_nopad; tostring gives hex.

const binaryResultMetaKey = "kumopolicy.kumo.BinaryResult"

// binaryResult is the Go value of a BinaryResult userdata.
type binaryResult []byte

// LuaToGo makes a BinaryResult convert to data as its hex text (what
// tostring gives), so kumo.json_encode of one does not fail.
func (b binaryResult) LuaToGo() (any, error) { return hex.EncodeToString(b), nil }

var digestAlgorithms = map[string]func() hash.Hash{
	"crc32":      func() hash.Hash { return crc32.NewIEEE() },
	"sha1":       sha1.New,
	"sha224":     sha256.New224,
	"sha256":     sha256.New,
	"sha384":     sha512.New384,
	"sha512":     sha512.New,
	"sha512_256": sha512.New512_256,
	"sha3_256":   func() hash.Hash { return sha3.New256() },
	"sha3_384":   func() hash.Hash { return sha3.New384() },
	"sha3_512":   func() hash.Hash { return sha3.New512() },
}

var hmacAlgorithms = map[string]func() hash.Hash{
	"hmac_sha1":   sha1.New,
	"hmac_sha224": sha256.New224,
	"hmac_sha256": sha256.New,
	"hmac_sha384": sha512.New384,
	"hmac_sha512": sha512.New,
}

// openDigest installs kumo.digest.
func (svc *Services) openDigest(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "digest")
	for name, newHash := range digestAlgorithms {
		t.RawSetString(name, L.NewFunction(digestFunc(name, newHash)))
	}
	for name, newHash := range hmacAlgorithms {
		t.RawSetString(name, L.NewFunction(hmacFunc(name, newHash, svc.Paths)))
	}
}

func digestFunc(name string, newHash func() hash.Hash) lua.LGFunction {
	return func(L *lua.LState) int {
		h := newHash()
		for i := 1; i <= L.GetTop(); i++ {
			v := L.Get(i)
			if s, ok := v.(lua.LString); ok {
				h.Write([]byte(s))
				continue
			}
			data, err := luart.ToGo(v)
			if err == nil {
				var text string
				if text, err = plain.EncodeJSON(data); err == nil {
					h.Write([]byte(text))
					continue
				}
			}
			raise(L, fmt.Errorf("kumo.digest.%s: argument %d: %w", name, i, err))
		}
		pushBinaryResult(L, h.Sum(nil))
		return 1
	}
}

func hmacFunc(name string, newHash func() hash.Hash, pm *paths.Map) lua.LGFunction {
	return func(L *lua.LState) int {
		key, err := keySourceArg(L, 1, pm)
		if err != nil {
			raise(L, fmt.Errorf("kumo.digest.%s: key: %w", name, err))
		}
		msg := L.CheckString(2)
		m := hmac.New(newHash, key)
		m.Write([]byte(msg))
		pushBinaryResult(L, m.Sum(nil))
		return 1
	}
}

// keySourceArg reads the bytes of the KeySource at argument n: a file path
// (moved by pm) or {key_data=...}. Vault and event key sources raise a
// clear error.
func keySourceArg(L *lua.LState, n int, pm *paths.Map) ([]byte, error) {
	v, err := luart.ToGo(L.Get(n))
	if err != nil {
		return nil, err
	}
	return keySourceBytes(v, pm)
}

// keySourceBytes decodes plain data as a KeySource and reads its bytes.
func keySourceBytes(v any, pm *paths.Map) ([]byte, error) {
	ks, err := egress.DecodeKeySource(v)
	if err != nil {
		return nil, err
	}
	switch ks.Kind {
	case egress.KeyFile:
		b, err := os.ReadFile(pm.Local(ks.Path))
		if err != nil {
			return nil, fmt.Errorf("reading key file: %w", err)
		}
		return b, nil
	case egress.KeyData:
		return []byte(ks.Data), nil
	case egress.KeyVault:
		return nil, fmt.Errorf("HashiCorp Vault key sources are not supported by kumopolicy yet; give a file path or {key_data=...}")
	default:
		return nil, fmt.Errorf("event key sources (event_name %q) are not supported by kumopolicy yet; give a file path or {key_data=...}", ks.EventName)
	}
}

// pushBinaryResult pushes a BinaryResult userdata holding b.
func pushBinaryResult(L *lua.LState, b []byte) {
	ud := L.NewUserData()
	ud.Value = binaryResult(b)
	L.SetMetatable(ud, binaryResultMetatable(L))
	L.Push(ud)
}

var binaryResultFields = map[string]func([]byte) string{
	"bytes":           func(b []byte) string { return string(b) },
	"hex":             hex.EncodeToString,
	"base32":          base32.StdEncoding.EncodeToString,
	"base32_nopad":    base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString,
	"base32hex":       base32.HexEncoding.EncodeToString,
	"base32hex_nopad": base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString,
	"base64":          base64.StdEncoding.EncodeToString,
	"base64_nopad":    base64.RawStdEncoding.EncodeToString,
	"base64url":       base64.URLEncoding.EncodeToString,
	"base64url_nopad": base64.RawURLEncoding.EncodeToString,
}

func binaryResultMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(binaryResultMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__name", lua.LString("BinaryResult"))
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		b := checkBinaryResult(L)
		key := L.CheckString(2)
		enc, ok := binaryResultFields[key]
		if !ok {
			L.RaiseError("BinaryResult has no field %q (fields: bytes, hex, base32, base32_nopad, base32hex, base32hex_nopad, base64, base64_nopad, base64url, base64url_nopad)", key)
		}
		L.Push(lua.LString(enc(b)))
		return 1
	}))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(hex.EncodeToString(checkBinaryResult(L))))
		return 1
	}))
	mt.RawSetString("__eq", L.NewFunction(func(L *lua.LState) int {
		a, aok := L.CheckUserData(1).Value.(binaryResult)
		b, bok := L.CheckUserData(2).Value.(binaryResult)
		L.Push(lua.LBool(aok && bok && string(a) == string(b)))
		return 1
	}))
	L.G.Registry.RawSetString(binaryResultMetaKey, mt)
	return mt
}

func checkBinaryResult(L *lua.LState) binaryResult {
	if b, ok := L.CheckUserData(1).Value.(binaryResult); ok {
		return b
	}
	L.ArgError(1, "BinaryResult expected")
	return nil
}
