package serde

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ParseJSON strips comments from data (see StripComments) and decodes the
// single JSON value it holds into plain data. Objects become
// map[string]any, arrays []any, null nil. Numbers written as integers that
// fit in an int64 become int64, other numbers float64; integers beyond
// int64 become the nearest float64. (Once handed to Lua every number is a
// float64, so integers beyond 2^53 lose precision there.) Numbers too large
// for a float64 are an error, as are trailing characters after the value.
func ParseJSON(data []byte) (any, error) {
	stripped, err := StripComments(data)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(stripped))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonSyntaxError(stripped, err)
	}
	// Anything but whitespace after the value is an error.
	end := int(dec.InputOffset())
	for i := end; i < len(stripped); i++ {
		switch stripped[i] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		line, col := position(stripped, i)
		return nil, &SyntaxError{Msg: "trailing characters after the JSON value", Line: line, Column: col}
	}
	return convertNumbers(v)
}

// jsonSyntaxError adds a line and column to an encoding/json decode error.
func jsonSyntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// Offset counts the bytes read, including the offending one.
		off := int(se.Offset) - 1
		if off < 0 {
			off = 0
		}
		line, col := position(data, off)
		return &SyntaxError{Msg: se.Error(), Line: line, Column: col}
	case errors.Is(err, io.EOF):
		line, col := position(data, len(data))
		return &SyntaxError{Msg: "expected a JSON value but found end of input", Line: line, Column: col}
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(data, len(data))
		return &SyntaxError{Msg: "unexpected end of input", Line: line, Column: col}
	}
	return err
}

// convertNumbers replaces json.Number values in decoded data by int64 or
// float64.
func convertNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return numberFromJSON(x)
	case []any:
		for i, e := range x {
			n, err := convertNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k, e := range x {
			n, err := convertNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	}
	return v, nil
}

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

// EncodeJSON encodes v as compact JSON with object keys sorted. See
// EncodeJSONPretty for the value rules.
func EncodeJSON(v any) (string, error) {
	return encodeJSON(v, false)
}

// EncodeJSONPretty encodes v as JSON laid out like serde_json's pretty
// printer: two-space indentation, `"key": value`, one array element or
// object member per line, empty arrays and objects as [] and {}. Object
// keys are sorted.
//
// Strings are escaped as serde_json does (only `"`, `\` and control
// characters; no HTML escaping). Integral numbers that fit in an int64 are
// written as integers. NaN and infinities have no JSON form and are errors.
// Strings that are not valid UTF-8 are written as arrays of their bytes.
func EncodeJSONPretty(v any) (string, error) {
	return encodeJSON(v, true)
}

func encodeJSON(v any, pretty bool) (string, error) {
	n, err := normalize(v, "", 0)
	if err != nil {
		return "", err
	}
	e := jsonEncoder{pretty: pretty}
	if err := e.value(n, "", 0); err != nil {
		return "", err
	}
	return e.buf.String(), nil
}

type jsonEncoder struct {
	buf    strings.Builder
	pretty bool
}

func (e *jsonEncoder) newline(depth int) {
	if e.pretty {
		e.buf.WriteByte('\n')
		for i := 0; i < depth; i++ {
			e.buf.WriteString("  ")
		}
	}
}

func (e *jsonEncoder) value(v any, path string, depth int) error {
	switch x := v.(type) {
	case nil:
		e.buf.WriteString("null")
	case bool:
		e.buf.WriteString(strconv.FormatBool(x))
	case int64:
		e.buf.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return &PathError{path, fmt.Sprintf("cannot encode %v as JSON: JSON numbers must be finite", luaNumberName(x))}
		}
		e.buf.WriteString(formatNumber(x))
	case string:
		writeJSONString(&e.buf, x)
	case []any:
		if len(x) == 0 {
			e.buf.WriteString("[]")
			return nil
		}
		e.buf.WriteByte('[')
		for i, el := range x {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			e.newline(depth + 1)
			if err := e.value(el, indexPath(path, i), depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.buf.WriteByte(']')
	case map[string]any:
		if len(x) == 0 {
			e.buf.WriteString("{}")
			return nil
		}
		e.buf.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			e.newline(depth + 1)
			writeJSONString(&e.buf, k)
			e.buf.WriteByte(':')
			if e.pretty {
				e.buf.WriteByte(' ')
			}
			if err := e.value(x[k], keyPath(path, k), depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.buf.WriteByte('}')
	default:
		// normalize only produces the types above.
		return &PathError{path, fmt.Sprintf("cannot encode a Go value of type %T", v)}
	}
	return nil
}

// luaNumberName renders NaN and the infinities the way Lua prints them.
func luaNumberName(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return formatNumber(f)
}

const hexDigits = "0123456789abcdef"

// writeJSONString writes s (valid UTF-8) as a JSON string literal, escaping
// exactly what serde_json escapes.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}
