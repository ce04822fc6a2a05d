// Package serde holds the Lua-free half of the kumo.serde module: parsing
// JSON (with comments) and TOML into plain Go data, and encoding plain Go
// data as JSON or TOML.
//
// Plain data is what luart.ToGo produces and luart.ToLua consumes: nil,
// bool, int64, float64, string, []any and map[string]any. Integral numbers
// are kept as int64 so that `connection_limit = 10` is written back as 10,
// not 10.0. The encoders also accept other common Go shapes (other integer
// and float kinds, json.Number, time.Time, typed slices and maps with string
// keys) so that Go values handed out by the host can be encoded directly.
//
// Output conventions follow what KumoMTA's Rust implementation
// (serde_json and the toml crate) produces, with object keys always sorted
// so the output is deterministic.
package serde

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PathError reports a value that cannot be encoded. Its text matches
// luart.ConversionError: "message (at .path[1])".
type PathError struct {
	Path string // where in the value, e.g. `.foo[2]`; "" for the top
	Msg  string
}

func (e *PathError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s (at %s)", e.Msg, e.Path)
}

// SyntaxError reports malformed input with its position. Line and Column
// count from 1; Column counts bytes.
type SyntaxError struct {
	Msg    string
	Line   int
	Column int
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s at line %d column %d", e.Msg, e.Line, e.Column)
}

// position converts a byte offset in data to a 1-based line and column.
func position(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	line = 1
	start := 0
	for i := 0; i < off; i++ {
		if data[i] == '\n' {
			line++
			start = i + 1
		}
	}
	return line, off - start + 1
}

// maxDepth bounds the nesting of values the encoders walk, so that a
// self-referencing Go value cannot exhaust the stack.
const maxDepth = 10000

// normalize converts v to canonical plain data (nil, bool, int64, float64,
// string, []any, map[string]any). Strings that are not valid UTF-8 become
// arrays of their byte values, which is what KumoMTA's Lua-to-serde
// conversion does with binary strings. Maps keep nil values; encoders decide
// what to do with them.
func normalize(v any, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, &PathError{path, fmt.Sprintf("value is nested more than %d levels deep", maxDepth)}
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return x, nil
	case int64:
		return x, nil
	case float64:
		return x, nil
	case string:
		if utf8.ValidString(x) {
			return x, nil
		}
		out := make([]any, len(x))
		for i := 0; i < len(x); i++ {
			out[i] = int64(x[i])
		}
		return out, nil
	case json.Number:
		return numberFromJSON(x)
	case time.Time:
		return FormatTime(x), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, indexPath(path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if !utf8.ValidString(k) {
				return nil, &PathError{path, fmt.Sprintf("table key %q is not valid UTF-8", k)}
			}
			n, err := normalize(e, keyPath(path, k), depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	return normalizeReflect(reflect.ValueOf(v), path, depth)
}

func normalizeReflect(rv reflect.Value, path string, depth int) (any, error) {
	switch rv.Kind() {
	case reflect.Invalid:
		return nil, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalize(rv.Elem().Interface(), path, depth+1)
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
		return normalize(rv.String(), path, depth)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return []any{}, nil
		}
		out := make([]any, rv.Len())
		for i := range out {
			n, err := normalize(rv.Index(i).Interface(), indexPath(path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, &PathError{path, fmt.Sprintf("cannot encode a map with %s keys (keys must be strings)", rv.Type().Key())}
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			if !utf8.ValidString(k) {
				return nil, &PathError{path, fmt.Sprintf("table key %q is not valid UTF-8", k)}
			}
			n, err := normalize(iter.Value().Interface(), keyPath(path, k), depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	return nil, &PathError{path, fmt.Sprintf("cannot encode a Go value of type %s", rv.Type())}
}

func indexPath(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i+1) }
func keyPath(path, k string) string       { return path + "." + k }

// sortedKeys returns the keys of m in byte order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// isInteger reports whether f is integral and fits in an int64 (the same
// rule luart uses to turn Lua numbers into integers).
func isInteger(f float64) bool {
	return f == math.Trunc(f) && !math.IsInf(f, 0) && f >= -9.223372036854775808e18 && f < 9.223372036854775808e18
}

// formatNumber renders a finite float64: integral values that fit in an
// int64 as integers (gopher-lua has no separate integer type, so 10 and
// 10.0 are the same value), everything else in the shortest form that
// reads back to the same float, laid out the way serde_json (ryu) does:
// plain decimals for magnitudes in [1e-5, 1e16), otherwise an exponent
// such as 1e-7 or 1.5e300.
func formatNumber(f float64) string {
	if isInteger(f) {
		return strconv.FormatInt(int64(f), 10)
	}
	return formatFloat(f)
}

// formatFloat lays out a finite float64 like ryu's pretty printer.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	var b strings.Builder
	if s[0] == '-' {
		b.WriteByte('-')
		s = s[1:]
	}
	epos := strings.IndexByte(s, 'e')
	digits := strings.Replace(s[:epos], ".", "", 1)
	exp, _ := strconv.Atoi(s[epos+1:])
	length := len(digits)
	k := exp - (length - 1) // value = digits × 10^k
	kk := length + k        // 10^(kk-1) <= value < 10^kk
	switch {
	case k >= 0 && kk <= 16:
		b.WriteString(digits)
		b.WriteString(strings.Repeat("0", k))
		b.WriteString(".0")
	case kk > 0 && kk <= 16:
		b.WriteString(digits[:kk])
		b.WriteByte('.')
		b.WriteString(digits[kk:])
	case kk > -5 && kk <= 0:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -kk))
		b.WriteString(digits)
	case length == 1:
		b.WriteString(digits)
		b.WriteByte('e')
		b.WriteString(strconv.Itoa(kk - 1))
	default:
		b.WriteByte(digits[0])
		b.WriteByte('.')
		b.WriteString(digits[1:])
		b.WriteByte('e')
		b.WriteString(strconv.Itoa(kk - 1))
	}
	return b.String()
}

// FormatTime renders a time as text. Times carrying one of the TOML
// decoder's local-time markers are written in the matching TOML local form
// (2006-01-02T15:04:05, 2006-01-02 or 15:04:05, with fractional seconds when
// present); other times are written in RFC 3339 with their offset.
func FormatTime(t time.Time) string {
	switch t.Location().String() {
	case "datetime-local":
		return t.Format("2006-01-02T15:04:05.999999999")
	case "date-local":
		return t.Format("2006-01-02")
	case "time-local":
		return t.Format("15:04:05.999999999")
	}
	return t.Format(time.RFC3339Nano)
}
