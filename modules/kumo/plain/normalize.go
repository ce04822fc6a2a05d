package plain

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// maxDepth bounds the nesting of values the writers walk, so that a
// self-referencing Go value cannot exhaust the stack.
const maxDepth = 10000

var errTooDeep = &Error{Msg: fmt.Sprintf("value is nested more than %d levels deep", maxDepth)}

// Normalize converts v to unordered plain data (nil, bool, int64, float64,
// string, []any, map[string]any). Besides plain data it accepts *Map, other
// integer and float kinds, json.Number, time.Time (see FormatTime), and
// typed slices, arrays, pointers and maps with string keys, so that Go
// values handed out by the host can be written directly. Strings that are
// not valid UTF-8 become sequences of their byte values, which is what
// KumoMTA's Lua-to-serde conversion does with binary strings. Maps keep
// nil values; writers decide what to do with them.
func Normalize(v any) (any, error) { return normalize(v, 0) }

func normalize(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch x := v.(type) {
	case nil, bool, int64, float64:
		return x, nil
	case string:
		if utf8.ValidString(x) {
			return x, nil
		}
		return byteSequence(x), nil
	case json.Number:
		return numberFromJSON(x)
	case time.Time:
		return FormatTime(x), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, AtIndex(err, i+1)
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if err := checkKey(k); err != nil {
				return nil, err
			}
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, AtField(err, k)
			}
			out[k] = n
		}
		return out, nil
	case *Map:
		out := make(map[string]any, x.Len())
		for i, k := range x.keys {
			if err := checkKey(k); err != nil {
				return nil, err
			}
			n, err := normalize(x.values[i], depth+1)
			if err != nil {
				return nil, AtField(err, k)
			}
			out[k] = n
		}
		return out, nil
	}
	return normalizeReflect(reflect.ValueOf(v), depth)
}

func byteSequence(s string) []any {
	out := make([]any, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int64(s[i])
	}
	return out
}

func checkKey(k string) error {
	if !utf8.ValidString(k) {
		return &Error{Msg: fmt.Sprintf("table key %s is not valid UTF-8", Quote(k))}
	}
	return nil
}

func normalizeReflect(rv reflect.Value, depth int) (any, error) {
	switch rv.Kind() {
	case reflect.Invalid:
		return nil, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalize(rv.Elem().Interface(), depth+1)
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return float64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return normalize(rv.String(), depth)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return []any{}, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalize(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, AtIndex(err, i+1)
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, &Error{Msg: fmt.Sprintf("cannot encode a map with %s keys (keys must be strings)", rv.Type().Key())}
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			if err := checkKey(k); err != nil {
				return nil, err
			}
			n, err := normalize(iter.Value().Interface(), depth+1)
			if err != nil {
				return nil, AtField(err, k)
			}
			out[k] = n
		}
		return out, nil
	}
	return nil, &Error{Msg: fmt.Sprintf("cannot encode a Go value of type %s", rv.Type())}
}

// numberFromJSON converts a JSON number: an integer that fits in an int64
// stays one, anything else becomes the nearest float64. Numbers too large
// for a float64 are an error.
func numberFromJSON(n json.Number) (any, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && (math.IsInf(f, 0) || !errors.Is(err, strconv.ErrRange)) {
		return nil, fmt.Errorf("number %s is out of range", string(n))
	}
	return f, nil
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
