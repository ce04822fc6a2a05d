package kumo

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"

	"github.com/kumopolicy/kumopolicy/luart"
)

// kumo.encode, as KumoMTA's mod-encode: base32/base32hex/base64/base64url
// (padded and _nopad), hex, and charset_encode/charset_decode between
// UTF-8 and a named charset (golang.org/x/text's IANA and WHATWG indexes).

type textCodec interface {
	EncodeToString([]byte) string
	DecodeString(string) ([]byte, error)
}

type hexCodec struct{}

func (hexCodec) EncodeToString(b []byte) string        { return hex.EncodeToString(b) }
func (hexCodec) DecodeString(s string) ([]byte, error) { return hex.DecodeString(s) }

var encodeCodecs = map[string]textCodec{
	"base32":          base32.StdEncoding,
	"base32_nopad":    base32.StdEncoding.WithPadding(base32.NoPadding),
	"base32hex":       base32.HexEncoding,
	"base32hex_nopad": base32.HexEncoding.WithPadding(base32.NoPadding),
	"base64":          base64.StdEncoding,
	"base64_nopad":    base64.RawStdEncoding,
	"base64url":       base64.URLEncoding,
	"base64url_nopad": base64.RawURLEncoding,
	"hex":             hexCodec{},
}

// openEncode installs kumo.encode.
func openEncode(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "encode")
	for name, codec := range encodeCodecs {
		t.RawSetString(name+"_encode", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LString(codec.EncodeToString([]byte(L.CheckString(1)))))
			return 1
		}))
		t.RawSetString(name+"_decode", L.NewFunction(func(L *lua.LState) int {
			b, err := codec.DecodeString(L.CheckString(1))
			if err != nil {
				L.RaiseError("kumo.encode.%s_decode: %v", name, err)
			}
			L.Push(lua.LString(b))
			return 1
		}))
	}
	t.RawSetString("charset_encode", L.NewFunction(charsetEncode))
	t.RawSetString("charset_decode", L.NewFunction(charsetDecode))
}

// lookupCharset finds a charset by its IANA name or alias, then by its
// WHATWG label.
func lookupCharset(name string) (encoding.Encoding, error) {
	if e, err := ianaindex.IANA.Encoding(name); err == nil && e != nil {
		return e, nil
	}
	if e, err := htmlindex.Get(name); err == nil && e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("unsupported charset %q", name)
}

func charsetEncode(L *lua.LState) int {
	name := L.CheckString(1)
	text := L.CheckString(2)
	ignore := lua.LVAsBool(L.Get(3))
	if !utf8.ValidString(text) {
		L.RaiseError("kumo.encode.charset_encode: the input is not valid UTF-8")
	}
	e, err := lookupCharset(name)
	if err != nil {
		L.RaiseError("kumo.encode.charset_encode: %v", err)
	}
	out, err := e.NewEncoder().String(text)
	if err != nil {
		if !ignore {
			L.RaiseError("kumo.encode.charset_encode: cannot encode the input as %s: %v", name, err)
		}
		// Encode what can be encoded, one character at a time.
		var b strings.Builder
		for _, r := range text {
			if part, err := e.NewEncoder().String(string(r)); err == nil {
				b.WriteString(part)
			}
		}
		out = b.String()
	}
	L.Push(lua.LString(out))
	return 1
}

func charsetDecode(L *lua.LState) int {
	name := L.CheckString(1)
	data := L.CheckString(2)
	e, err := lookupCharset(name)
	if err != nil {
		L.RaiseError("kumo.encode.charset_decode: %v", err)
	}
	out, err := e.NewDecoder().String(data)
	if err != nil {
		L.RaiseError("kumo.encode.charset_decode: cannot decode the input as %s: %v", name, err)
	}
	L.Push(lua.LString(out))
	return 1
}
