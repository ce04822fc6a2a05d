package kumod

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Strict decoding of plain Go data (nil, bool, int64, float64, string,
// []any, map[string]any — what luart.ToGo produces) into the parameter
// structs of this package, with the value grammars and serde-style errors
// of packages plain and egress (which KumoMTA's Lua helpers, typing.lua, match on):
//
//	unknown field `x`, expected one of `a`, `b`
//	missing field `x`
//	relay_hosts[2]: invalid type: integer `5`, expected a string
//	kind: unknown variant `rocksdb`, expected `LocalDisk` or `RocksDB`
//
// Schema errors are *plain.Error values carrying the path of the
// offending value. Map keys are visited in sorted order, so the error
// reported for a given input is always the same. A nil value counts as
// absent.

// DeserializeError is a parameter table that did not match its schema. Its
// text is KumoMTA's from_lua_value wrapping of the serde message:
//
//	deserialize error: missing field `name`, while processing {"path":"/x"}
type DeserializeError struct {
	Msg   string // the serde-style message, prefixed by its path if any
	Input string // the input rendered as JSON
}

func (e *DeserializeError) Error() string {
	return fmt.Sprintf("deserialize error: %s, while processing %s", e.Msg, e.Input)
}

// wrapDeserialize turns a schema error for input into a *DeserializeError.
// Other errors (for example an unparsable listen address, which KumoMTA
// only notices when it binds) pass through.
func wrapDeserialize(err error, input any) error {
	var se *plain.Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	return &DeserializeError{Msg: se.Error(), Input: renderJSON(input)}
}

// renderJSON renders plain data as serde_json does (compact, keys sorted,
// no HTML escaping), for error messages.
func renderJSON(v any) string {
	text, err := plain.EncodeJSON(v)
	if err != nil {
		return fmt.Sprintf("<unable to encode as json: %v>", err)
	}
	return text
}

// The parameter structs are decoded by plain.Schema values walking their
// keys in sorted order (plain.Schema.InKeyOrder), as serde walks a map.
// The field constructors below add the value grammars plain does not
// have.

// asI32 reads a signed 32-bit integer.
func asI32(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		if x < -1<<31 || x > 1<<31-1 {
			return 0, plain.InvalidValue(v, "i32")
		}
		return x, nil
	case int:
		return asI32(int64(x))
	}
	return 0, plain.InvalidType(v, "i32")
}

// asPath reads a file system path (a PathBuf upstream).
func asPath(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", plain.InvalidType(v, "path string")
}

// asCIDRSet reads a CidrSet: a list of addresses and networks, normalized
// as KumoMTA normalizes them (sorted, covered entries dropped).
func asCIDRSet(v any) ([]string, error) {
	set, err := egress.DecodeCIDRSet(v)
	if err != nil {
		return nil, err
	}
	return set.Strings(), nil
}

// i32Field is an i32.
func i32Field[T any](name string, get func(*T) *int64) plain.Field[T] {
	return plain.Field[T]{Name: name, Decode: func(dst *T, v any) (err error) { *get(dst), err = asI32(v); return }}
}

// u64Field is a u64.
func u64Field[T any](name string, get func(*T) *uint64) plain.Field[T] {
	return plain.Field[T]{Name: name, Decode: func(dst *T, v any) (err error) {
		*get(dst), err = plain.DecodeUintAs(v, 64, "u64")
		return
	}}
}

// pathField is a PathBuf.
func pathField[T any](name string, get func(*T) *string) plain.Field[T] {
	return plain.Field[T]{Name: name, Decode: func(dst *T, v any) (err error) { *get(dst), err = asPath(v); return }}
}

// cidrSetField is a CidrSet (see asCIDRSet).
func cidrSetField[T any](name string, get func(*T) *[]string) plain.Field[T] {
	return plain.Field[T]{Name: name, Decode: func(dst *T, v any) (err error) { *get(dst), err = asCIDRSet(v); return }}
}

// keySourceField is an optional KeySource.
func keySourceField[T any](name string, get func(*T) **egress.KeySource) plain.Field[T] {
	return plain.Field[T]{Name: name, Decode: func(dst *T, v any) (err error) { *get(dst), err = egress.DecodeKeySource(v); return }}
}

// minFreeField is a MinFree threshold (see asMinFree).
func minFreeField[T any](name string, get func(*T) *MinFree) plain.Field[T] {
	return plain.Field[T]{Name: name, Decode: func(dst *T, v any) (err error) { *get(dst), err = asMinFree(v); return }}
}

// checkPath rejects an empty path: KumoMTA would fail later, when it opens
// or creates the path, with a less helpful message.
func checkPath(fn, what, path string) error {
	if strings.TrimSpace(path) == "" {
		return fmt.Errorf("%s: %s must not be empty", fn, what)
	}
	return nil
}

func putOpt[T any](m map[string]any, name string, v *T) {
	if v != nil {
		m[name] = *v
	}
}

func putUint(m map[string]any, name string, v *uint64) {
	if v != nil {
		m[name] = int64(*v)
	}
}

func putDuration(m map[string]any, name string, v *time.Duration) {
	if v != nil {
		m[name] = plain.FormatDuration(*v)
	}
}

// redacted replaces secrets in recorded data.
const redacted = "<redacted>"
