package plain

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// JSONOptions tune the JSON writer. The zero value writes compact JSON as
// serde_json does.
type JSONOptions struct {
	// Pretty lays the text out like serde_json's pretty printer: two-space
	// indentation, `"key": value`, one array element or object member per
	// line, empty arrays and objects as [] and {}.
	Pretty bool
	// NonFiniteNull writes NaN and the infinities as null (as serde_json's
	// Value does) instead of failing: for hashing and cache keys, where
	// every value needs some form.
	NonFiniteNull bool
	// EscapeBytes writes strings that are not valid UTF-8 as strings, with
	// each invalid byte as a \u00XX escape (which no valid character is
	// written as), instead of as sequences of their byte values: for cache
	// keys, where distinct strings must stay distinct from each other and
	// from sequences.
	EscapeBytes bool
}

// EncodeJSON writes v as compact JSON (see AppendJSON).
func EncodeJSON(v any) (string, error) {
	b, err := AppendJSON(nil, v, JSONOptions{})
	return string(b), err
}

// EncodeJSONPretty writes v as JSON laid out like serde_json's pretty
// printer (see AppendJSON).
func EncodeJSONPretty(v any) (string, error) {
	b, err := AppendJSON(nil, v, JSONOptions{Pretty: true})
	return string(b), err
}

// AppendJSON appends v, written as JSON, to dst. It is kumopolicy's one
// JSON writer: kumo.json_encode, configs' serialized forms, messages,
// shaping hashes and memoize keys all go through it.
//
// The objects of a map[string]any are written with their keys sorted, so
// the text is deterministic; those of a *Map in the map's order. Strings
// are escaped as serde_json does (see JSON). Integral numbers that fit in
// an int64 are written as integers, other numbers as serde_json (ryu) lays
// them out. NaN and infinities have no JSON form and are errors (see
// JSONOptions.NonFiniteNull). Strings that are not valid UTF-8 are written
// as sequences of their bytes (see JSONOptions.EscapeBytes). Other Go
// values are converted by Normalize first. Errors are *Error values
// locating the value that could not be written.
func AppendJSON(dst []byte, v any, opt JSONOptions) ([]byte, error) {
	w := jsonWriter{buf: dst, opt: opt}
	if err := w.value(v, 0); err != nil {
		return dst, err
	}
	return w.buf, nil
}

// AppendJSONString appends s as a JSON string literal (see AppendQuoted).
func AppendJSONString(dst []byte, s string) []byte { return AppendQuoted(dst, s, JSON) }

// AppendJSONNumber appends f as AppendJSON writes a number.
func AppendJSONNumber(dst []byte, f float64, opt JSONOptions) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		if opt.NonFiniteNull {
			return append(dst, "null"...), nil
		}
		return dst, &Error{Msg: fmt.Sprintf("cannot encode %s as JSON: JSON numbers must be finite", luaNumberName(f))}
	}
	return appendNumber(dst, f), nil
}

type jsonWriter struct {
	buf []byte
	opt JSONOptions
}

func (w *jsonWriter) newline(depth int) {
	if w.opt.Pretty {
		w.buf = append(w.buf, '\n')
		for i := 0; i < depth; i++ {
			w.buf = append(w.buf, ' ', ' ')
		}
	}
}

func (w *jsonWriter) key(k string) {
	w.buf = AppendQuoted(w.buf, k, JSON)
	w.buf = append(w.buf, ':')
	if w.opt.Pretty {
		w.buf = append(w.buf, ' ')
	}
}

func (w *jsonWriter) value(v any, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	switch x := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, x)
	case int64:
		w.buf = strconv.AppendInt(w.buf, x, 10)
	case float64:
		var err error
		w.buf, err = AppendJSONNumber(w.buf, x, w.opt)
		return err
	case string:
		if !w.opt.EscapeBytes && !utf8.ValidString(x) {
			return w.value(byteSequence(x), depth)
		}
		w.buf = AppendQuoted(w.buf, x, JSON)
	case []any:
		if len(x) == 0 {
			w.buf = append(w.buf, "[]"...)
			return nil
		}
		w.buf = append(w.buf, '[')
		for i, el := range x {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.newline(depth + 1)
			if err := w.value(el, depth+1); err != nil {
				return AtIndex(err, i+1)
			}
		}
		w.newline(depth)
		w.buf = append(w.buf, ']')
	case map[string]any:
		if len(x) == 0 {
			w.buf = append(w.buf, "{}"...)
			return nil
		}
		w.buf = append(w.buf, '{')
		for i, k := range SortedKeys(x) {
			if err := checkKey(k); err != nil {
				return err
			}
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.newline(depth + 1)
			w.key(k)
			if err := w.value(x[k], depth+1); err != nil {
				return AtField(err, k)
			}
		}
		w.newline(depth)
		w.buf = append(w.buf, '}')
	case *Map:
		if x.Len() == 0 {
			w.buf = append(w.buf, "{}"...)
			return nil
		}
		w.buf = append(w.buf, '{')
		for i, k := range x.keys {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.newline(depth + 1)
			w.key(k)
			if err := w.value(x.values[i], depth+1); err != nil {
				return AtField(err, k)
			}
		}
		w.newline(depth)
		w.buf = append(w.buf, '}')
	default:
		n, err := normalize(v, depth)
		if err != nil {
			return err
		}
		return w.value(n, depth)
	}
	return nil
}
