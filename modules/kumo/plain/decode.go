package plain

import (
	"math"
	"slices"
	"strconv"
	"time"
)

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
	return DecodeUintAs(v, bitSize, name)
}

// DecodeUintAs is DecodeUint with the type named name in errors ("u64").
func DecodeUintAs(v any, bitSize int, name string) (uint64, error) {
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
		return DecodeUintAs(int64(x), bitSize, name)
	}
	return 0, InvalidType(v, name)
}

// durationMemo keeps the durations parsed from strings.
var durationMemo = NewParseMemo[time.Duration](4096)

// DecodeDuration accepts a humantime string (see ParseDuration) or a number
// of seconds: a non-negative integer, or a float for fractional seconds.
func DecodeDuration(v any) (time.Duration, error) {
	switch x := v.(type) {
	case string:
		d, err := durationMemo.Parse(x, ParseDuration)
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
	case *Map:
		return x.Plain(false), nil
	case []any:
		if len(x) == 0 {
			return map[string]any{}, nil
		}
	}
	return nil, InvalidType(v, expected)
}

// DecodeNamedMap decodes a map from names to values with decode, in sorted
// key order (the input has no order); errors are located at the key.
func DecodeNamedMap[V any](v any, decode func(any) (V, error)) ([]Named[V], error) {
	var keys []string
	var get func(string) any
	if om, ok := v.(*Map); ok {
		// Read an ordered map in place, in sorted key order as for a Go map.
		keys = slices.Clone(om.Keys())
		slices.Sort(keys)
		get = om.Value
	} else {
		m, err := AsMap(v, "a map")
		if err != nil {
			return nil, err
		}
		keys = SortedKeys(m)
		get = func(k string) any { return m[k] }
	}
	out := make([]Named[V], 0, len(keys))
	for _, k := range keys {
		val, err := decode(get(k))
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

// Enum describes one enumeration: its KumoMTA type name (used in type
// errors, "expected enum Tls") and its variants in KumoMTA's declaration
// order, which is the order of "expected one of" lists.
type Enum struct {
	Name     string
	Variants []string
}

// Decode accepts a string naming a variant exactly.
func (e Enum) Decode(v any) (string, error) { return DecodeEnum(v, e.Name, e.Variants) }
