package egress

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Strict decoding of plain Go data into typed configuration.
//
// The input is what luart.ToGo (or a JSON/TOML parser) produces: nil, bool,
// int64, float64, string, []any and map[string]any. Integral Lua numbers
// arrive as int64 and stay integers; a float64 is never accepted where an
// integer is expected.
//
// Error texts follow serde's conventions, because KumoMTA's Lua helpers
// match on them (typing.lua, sources.lua, queue.lua look for "invalid",
// "invalid type" and "unknown field"):
//
//	invalid type: floating point `5.5`, expected usize
//	invalid value: integer `-1`, expected usize
//	unknown field `x`, expected one of `a`, `b`
//	missing field `name`
//
// An *Error also carries the path of the offending value inside the input
// (for example `additional_connection_limits.foo` or `entries[2].weight`;
// sequence indexes are 1-based, as in Lua), and renders it as a prefix:
//
//	max_ready: invalid type: floating point `5.5`, expected usize

// Error is a decoding error: a serde-style message and where it occurred.
type Error struct {
	Path string // e.g. "protocol.custom_lua.batch_size"; "" for the top level
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// AtField returns err located under the field or map key name: the path of
// an *Error gains name as its first segment; other errors become an *Error
// at name.
func AtField(err error, name string) error {
	return at(err, name, false)
}

// AtIndex returns err located under the 1-based sequence index i.
func AtIndex(err error, i int) error {
	return at(err, "["+strconv.Itoa(i)+"]", true)
}

func at(err error, seg string, index bool) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Path: seg, Msg: err.Error()}
	}
	p := seg
	switch {
	case e.Path == "":
	case strings.HasPrefix(e.Path, "["):
		p += e.Path
	default:
		p += "." + e.Path
	}
	return &Error{Path: p, Msg: e.Msg}
}

// Custom returns an *Error with a free-form message (serde's
// `Error::custom`).
func Custom(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// InvalidType reports a value of the wrong kind:
// `invalid type: integer `5`, expected a string`.
func InvalidType(v any, expected string) error {
	return &Error{Msg: "invalid type: " + Unexpected(v) + ", expected " + expected}
}

// InvalidValue reports a value of the right kind that is out of range:
// `invalid value: integer `70000`, expected u16`.
func InvalidValue(v any, expected string) error {
	return &Error{Msg: "invalid value: " + Unexpected(v) + ", expected " + expected}
}

// UnknownField reports a key that is not a field. With expected nil the
// list is left out (KumoMTA structs with flattened members report only
// “unknown field `x` “).
func UnknownField(name string, expected []string) error {
	msg := "unknown field `" + name + "`"
	if expected != nil {
		msg += ", " + oneOf(expected, "fields")
	}
	return &Error{Msg: msg}
}

// UnknownVariant reports a string that names no variant of an enum.
func UnknownVariant(name string, expected []string) error {
	return &Error{Msg: "unknown variant `" + name + "`, " + oneOf(expected, "variants")}
}

// MissingField reports a required field that is absent.
func MissingField(name string) error {
	return &Error{Msg: "missing field `" + name + "`"}
}

// oneOf renders serde's list of alternatives.
func oneOf(names []string, what string) string {
	switch len(names) {
	case 0:
		return "there are no " + what
	case 1:
		return "expected `" + names[0] + "`"
	case 2:
		return "expected `" + names[0] + "` or `" + names[1] + "`"
	}
	var b strings.Builder
	b.WriteString("expected one of ")
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + n + "`")
	}
	return b.String()
}

// Unexpected describes a plain value as serde does in its messages:
// "boolean `true`", "integer `5`", "floating point `5.5`", `string "x"`,
// "sequence", "map", "null".
func Unexpected(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean `" + strconv.FormatBool(x) + "`"
	case int64:
		return "integer `" + strconv.FormatInt(x, 10) + "`"
	case uint64:
		return "integer `" + strconv.FormatUint(x, 10) + "`"
	case int:
		return "integer `" + strconv.Itoa(x) + "`"
	case float64:
		return "floating point `" + formatFloat(x) + "`"
	case string:
		return "string " + rustQuote(x)
	case []any:
		return "sequence"
	case map[string]any, *Map:
		return "map"
	}
	return fmt.Sprintf("%T", v)
}

// formatFloat renders f as Rust's Display for f64 does in serde messages:
// no exponent, and a ".0" on integral values.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// rustQuote quotes s as Rust's Debug for str does.
func rustQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u{%x}`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// DecodeBool accepts only a boolean.
func DecodeBool(v any) (bool, error) {
	if b, ok := v.(bool); ok {
		return b, nil
	}
	return false, InvalidType(v, "a boolean")
}

// DecodeString accepts only a string.
func DecodeString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", InvalidType(v, "a string")
}

// DecodeUint accepts a non-negative integer that fits in bitSize bits
// (8, 16, 32 or 64; 64 is reported as usize, as KumoMTA's fields are).
func DecodeUint(v any, bitSize int) (uint64, error) {
	name := "usize"
	if bitSize < 64 {
		name = "u" + strconv.Itoa(bitSize)
	}
	return decodeUintNamed(v, bitSize, name)
}

func decodeUintNamed(v any, bitSize int, name string) (uint64, error) {
	max := ^uint64(0)
	if bitSize < 64 {
		max = 1<<uint(bitSize) - 1
	}
	switch x := v.(type) {
	case int64:
		if x < 0 || uint64(x) > max {
			return 0, InvalidValue(v, name)
		}
		return uint64(x), nil
	case uint64:
		if x > max {
			return 0, InvalidValue(v, name)
		}
		return x, nil
	case int:
		return decodeUintNamed(int64(x), bitSize, name)
	}
	return 0, InvalidType(v, name)
}

// DecodeDuration accepts a humantime string (see ParseDuration) or a number
// of seconds: a non-negative integer, or a float for fractional seconds.
func DecodeDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		d, err := ParseDuration(x)
		if err != nil {
			return 0, &Error{Msg: err.Error()}
		}
		return d, nil
	case int64:
		if x < 0 {
			return 0, Custom("duration must either be a string or a positive integer specifying the number of seconds. (error: out of range integral type conversion attempted)")
		}
		if x > math.MaxInt64/int64(time.Second) {
			return 0, InvalidValue(v, "a duration shorter than "+FormatDuration(math.MaxInt64))
		}
		return time.Duration(x) * time.Second, nil
	case uint64:
		return DecodeDuration(int64(min(x, math.MaxInt64)))
	case int:
		return DecodeDuration(int64(x))
	case float64:
		d, err := DurationFromSeconds(x)
		if err != nil {
			return 0, &Error{Msg: err.Error()}
		}
		return d, nil
	}
	return 0, InvalidType(v, "a duration")
}

// DecodeEnum accepts a string naming one of variants exactly
// (case-sensitive). enumName is used for type errors ("enum Tls").
func DecodeEnum(v any, enumName string, variants []string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", InvalidType(v, "enum "+enumName)
	}
	if slices.Contains(variants, s) {
		return s, nil
	}
	return "", UnknownVariant(s, variants)
}

// DecodeStringList accepts a sequence of strings. An empty map is taken as
// an empty sequence: Lua cannot tell `{}` apart.
func DecodeStringList(v any) ([]string, error) {
	items, err := AsSequence(v)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		s, err := DecodeString(item)
		if err != nil {
			return nil, AtIndex(err, i+1)
		}
		out = append(out, s)
	}
	return out, nil
}

// AsSequence returns v as a sequence; an empty map is an empty sequence.
func AsSequence(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case map[string]any:
		if len(x) == 0 {
			return nil, nil
		}
	}
	return nil, InvalidType(v, "a sequence")
}

// AsMap returns v as a map; an empty sequence is an empty map (an empty
// Lua table may have been marked as an array).
func AsMap(v any, expected string) (map[string]any, error) {
	switch x := v.(type) {
	case map[string]any:
		return x, nil
	case []any:
		if len(x) == 0 {
			return map[string]any{}, nil
		}
	}
	return nil, InvalidType(v, expected)
}

// SortedKeys returns the keys of m in sorted order.
func SortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// DecodeNamedMap decodes a map from names to values with decode, in sorted
// key order (the input has no order); errors are located at the key.
func DecodeNamedMap[V any](v any, decode func(any) (V, error)) ([]Named[V], error) {
	m, err := AsMap(v, "a map")
	if err != nil {
		return nil, err
	}
	out := make([]Named[V], 0, len(m))
	for _, k := range SortedKeys(m) {
		val, err := decode(m[k])
		if err != nil {
			return nil, AtField(err, k)
		}
		out = append(out, Named[V]{Name: k, Value: val})
	}
	return out, nil
}

// Named is one entry of an ordered name → value map.
type Named[V any] struct {
	Name  string
	Value V
}

// Object decodes the fields of a map one by one, for small ad-hoc
// structures; Schema is the table-driven form for large ones.
type Object struct {
	m map[string]any
}

// NewObject starts decoding m.
func NewObject(m map[string]any) *Object { return &Object{m: m} }

// Unknown fails on the first key (in sorted order) not in known, listing
// the known fields as serde does.
func (o *Object) Unknown(known []string) error {
	var bad []string
	for k := range o.m {
		if !slices.Contains(known, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return UnknownField(bad[0], known)
}

// Required decodes field name with fn, failing when it is absent.
func (o *Object) Required(name string, fn func(v any) error) error {
	v, ok := o.m[name]
	if !ok || v == nil {
		return MissingField(name)
	}
	return AtField(fn(v), name)
}

// Optional decodes field name with fn when it is present and not nil.
func (o *Object) Optional(name string, fn func(v any) error) error {
	v, ok := o.m[name]
	if !ok || v == nil {
		return nil
	}
	return AtField(fn(v), name)
}
