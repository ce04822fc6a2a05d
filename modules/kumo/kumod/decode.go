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

// field is one member of a struct schema.
type field struct {
	name     string
	required bool
	set      func(v any) error
}

// structOpts tune decodeStruct for serde attributes.
type structOpts struct {
	// allowUnknown ignores unknown keys (no deny_unknown_fields).
	allowUnknown bool
	// flattened reports unknown keys without the list of expected names,
	// as serde does for a struct with a #[serde(flatten)] member.
	flattened bool
}

// decodeStruct decodes a map into fields. name is the struct's name for
// "expected struct X" messages.
func decodeStruct(v any, name string, fields []field, opts structOpts) error {
	m, err := plain.AsMap(v, "struct "+name)
	if err != nil {
		return err
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	seen := make(map[string]bool, len(m))
	for _, k := range plain.SortedKeys(m) {
		f := findField(fields, k)
		if f == nil {
			if opts.allowUnknown {
				continue
			}
			if opts.flattened {
				return plain.UnknownField(k, nil)
			}
			return plain.UnknownField(k, names)
		}
		val := m[k]
		if val == nil {
			continue
		}
		if err := f.set(val); err != nil {
			return plain.AtField(err, k)
		}
		seen[k] = true
	}
	for _, f := range fields {
		if f.required && !seen[f.name] {
			return plain.MissingField(f.name)
		}
	}
	return nil
}

func findField(fields []field, name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	return nil
}

// asUint reads an unsigned integer of Rust type kind (u64, usize).
func asUint(v any, kind string) (uint64, error) {
	switch x := v.(type) {
	case int64:
		if x < 0 {
			return 0, plain.InvalidValue(v, kind)
		}
		return uint64(x), nil
	case int:
		return asUint(int64(x), kind)
	}
	return 0, plain.InvalidType(v, kind)
}

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

func asUsize(v any) (uint64, error) { return asUint(v, "usize") }

// asPath reads a file system path (a PathBuf upstream).
func asPath(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", plain.InvalidType(v, "path string")
}

// asStringList reads a sequence of strings; the result is never nil.
func asStringList(v any) ([]string, error) {
	list, err := plain.DecodeStringList(v)
	if list == nil && err == nil {
		list = []string{}
	}
	return list, err
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

func setString(dst *string) func(any) error {
	return func(v any) (err error) { *dst, err = plain.DecodeString(v); return }
}

func setOptString(dst **string) func(any) error {
	return func(v any) error {
		s, err := plain.DecodeString(v)
		*dst = &s
		return err
	}
}

func setPath(dst *string) func(any) error {
	return func(v any) (err error) { *dst, err = asPath(v); return }
}

func setBool(dst *bool) func(any) error {
	return func(v any) (err error) { *dst, err = plain.DecodeBool(v); return }
}

func setOptBool(dst **bool) func(any) error {
	return func(v any) error {
		b, err := plain.DecodeBool(v)
		*dst = &b
		return err
	}
}

func setUsize(dst *uint64) func(any) error {
	return func(v any) (err error) { *dst, err = asUsize(v); return }
}

func setOptUsize(dst **uint64) func(any) error {
	return func(v any) error {
		n, err := asUsize(v)
		*dst = &n
		return err
	}
}

func setDuration(dst *time.Duration) func(any) error {
	return func(v any) (err error) { *dst, err = plain.DecodeDuration(v); return }
}

func setOptDuration(dst **time.Duration) func(any) error {
	return func(v any) error {
		d, err := plain.DecodeDuration(v)
		*dst = &d
		return err
	}
}

func setEnum(dst *string, enum string, variants []string) func(any) error {
	return func(v any) (err error) { *dst, err = plain.DecodeEnum(v, enum, variants); return }
}

func setOptEnum(dst **string, enum string, variants []string) func(any) error {
	return func(v any) error {
		e, err := plain.DecodeEnum(v, enum, variants)
		*dst = &e
		return err
	}
}

func setStringList(dst *[]string) func(any) error {
	return func(v any) (err error) { *dst, err = asStringList(v); return }
}

func setCIDRSet(dst *[]string) func(any) error {
	return func(v any) (err error) { *dst, err = asCIDRSet(v); return }
}

// checkPath rejects an empty path: KumoMTA would fail later, when it opens
// or creates the path, with a less helpful message.
func checkPath(fn, what, path string) error {
	if strings.TrimSpace(path) == "" {
		return fmt.Errorf("%s: %s must not be empty", fn, what)
	}
	return nil
}

// durationText renders a duration as KumoMTA serializes it (humantime).
func durationText(d time.Duration) string { return plain.FormatDuration(d) }

func stringsToAny(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
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
		m[name] = durationText(*v)
	}
}

// redacted replaces secrets in recorded data.
const redacted = "<redacted>"
