package kumo

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Serialization functions (KumoMTA crates/mod-serde).
//
// All of them live in kumo.serde; the JSON and TOML ones other than
// toml_encode_pretty_compact are also kept directly in kumo for backwards
// compatibility, as upstream does. The same function values are shared.
//
// Differences from upstream, all deliberate:
//   - Object keys are always sorted (upstream sorts only in
//     json_encode_pretty), so output is deterministic.
//   - A table marked as an array (e.g. an empty array from json_parse)
//     encodes as []; upstream copies tables before encoding and loses the
//     mark, writing {}.
//   - A table with keys 1..n plus others (or with holes) encodes as an
//     object with the integer keys in decimal, as luart.ToGo converts it;
//     upstream writes only the 1..n part as an array.
//   - NaN and infinities are errors in JSON (serde_json writes null).
//   - TOML date-times parse to strings rather than upstream's
//     {["$__toml_private_datetime"] = ...} tables.
//   - Lua numbers are float64 in gopher-lua: integral values are written as
//     integers (10, never 10.0), and integers beyond 2^53 read from JSON or
//     TOML lose precision once they become Lua numbers.
//   - YAML needs a library kumopolicy does not carry: the yaml_* functions
//     exist but raise a "not supported by kumopolicy" error.

// serdeFunctions are installed in kumo.serde.
var serdeFunctions = map[string]lua.LGFunction{
	"json_load":                  serdeJSONLoad,
	"json_parse":                 serdeJSONParse,
	"json_encode":                serdeJSONEncode,
	"json_encode_pretty":         serdeJSONEncodePretty,
	"toml_load":                  serdeTOMLLoad,
	"toml_parse":                 serdeTOMLParse,
	"toml_encode":                serdeTOMLEncode(plain.TOMLCompact, "toml_encode"),
	"toml_encode_pretty":         serdeTOMLEncode(plain.TOMLPretty, "toml_encode_pretty"),
	"toml_encode_pretty_compact": serdeTOMLEncode(plain.TOMLPrettyCompact, "toml_encode_pretty_compact"),
	"yaml_load":                  serdeYAMLUnsupported("yaml_load"),
	"yaml_parse":                 serdeYAMLUnsupported("yaml_parse"),
	"yaml_encode":                serdeYAMLUnsupported("yaml_encode"),
}

// serdeCompatNames are also installed directly in kumo.
var serdeCompatNames = []string{
	"json_load", "json_parse", "json_encode", "json_encode_pretty",
	"toml_load", "toml_parse", "toml_encode", "toml_encode_pretty",
}

// openSerde installs kumo.serde.* and the kumo.json_* / kumo.toml_* aliases.
func openSerde(s *luart.State, mod *lua.LTable) {
	L := s.L
	serdeMod := subTable(L, mod, "serde")
	L.SetFuncs(serdeMod, serdeFunctions)
	for _, name := range serdeCompatNames {
		mod.RawSetString(name, serdeMod.RawGetString(name))
	}
}

func serdeJSONParse(L *lua.LState) int {
	text := checkStringArg(L, "json_parse")
	v, _, err := plain.ParseJSON([]byte(text), plain.ParseOptions{Comments: true})
	if err != nil {
		raise(L, fmt.Errorf("json_parse: parsing %s as json: %w", excerpt(text), err))
	}
	L.Push(luart.ToLua(L, v))
	return 1
}

func serdeJSONLoad(L *lua.LState) int {
	name := checkStringArg(L, "json_load")
	data := readFile(L, "json_load", name)
	v, _, err := plain.ParseJSON(data, plain.ParseOptions{Comments: true})
	if err != nil {
		raise(L, fmt.Errorf("json_load: parsing %s as json: %w", name, err))
	}
	L.Push(luart.ToLua(L, v))
	return 1
}

func serdeJSONEncode(L *lua.LState) int {
	return encodeWith(L, "json_encode", plain.EncodeJSON)
}

func serdeJSONEncodePretty(L *lua.LState) int {
	return encodeWith(L, "json_encode_pretty", plain.EncodeJSONPretty)
}

func serdeTOMLParse(L *lua.LState) int {
	text := checkStringArg(L, "toml_parse")
	v, err := plain.ParseTOML([]byte(text), false)
	if err != nil {
		raise(L, fmt.Errorf("toml_parse: parsing %s as toml: %w", excerpt(text), err))
	}
	L.Push(luart.ToLua(L, v))
	return 1
}

func serdeTOMLLoad(L *lua.LState) int {
	name := checkStringArg(L, "toml_load")
	data := readFile(L, "toml_load", name)
	if !utf8.Valid(data) {
		raise(L, fmt.Errorf("toml_load: parsing %s as toml: the file is not valid UTF-8", name))
	}
	v, err := plain.ParseTOML(data, false)
	if err != nil {
		raise(L, fmt.Errorf("toml_load: parsing %s as toml: %w", name, err))
	}
	L.Push(luart.ToLua(L, v))
	return 1
}

func serdeTOMLEncode(style plain.TOMLStyle, fname string) lua.LGFunction {
	return func(L *lua.LState) int {
		return encodeWith(L, fname, func(v any) (string, error) { return plain.EncodeTOML(v, style) })
	}
}

func serdeYAMLUnsupported(fname string) lua.LGFunction {
	return func(L *lua.LState) int {
		L.RaiseError("kumo.serde.%s: YAML is not supported by kumopolicy", fname)
		return 0
	}
}

// checkStringArg returns argument 1 as a string (numbers are converted, as
// Lua does), raising an error naming fname for any other type.
func checkStringArg(L *lua.LState, fname string) string {
	switch v := L.Get(1).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	default:
		L.RaiseError("%s: bad argument #1 (string expected, got %s)", fname, v.Type().String())
		return ""
	}
}

// encodeWith converts argument 1 to plain data and encodes it with enc.
func encodeWith(L *lua.LState, fname string, enc func(any) (string, error)) int {
	v, err := luart.ToGo(L.Get(1))
	if err != nil {
		raise(L, fmt.Errorf("%s: %w", fname, err))
	}
	out, err := enc(v)
	if err != nil {
		raise(L, fmt.Errorf("%s: %w", fname, err))
	}
	L.Push(lua.LString(out))
	return 1
}

// readFile reads a file for a *_load function, raising a Lua error that
// names the file when it cannot be read.
func readFile(L *lua.LState, fname, name string) []byte {
	data, err := os.ReadFile(name)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		raise(L, fmt.Errorf("%s: reading file %s: %w", fname, name, err))
	}
	return data
}

// excerptLimit bounds how much of a parsed string an error message quotes.
const excerptLimit = 200

// excerpt returns text for an error message, cut to excerptLimit bytes (at
// a character boundary) with "..." appended when longer. Upstream quotes
// the whole input; a large TSA event would flood the log.
func excerpt(text string) string {
	if len(text) <= excerptLimit {
		return text
	}
	cut := excerptLimit
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "..."
}
