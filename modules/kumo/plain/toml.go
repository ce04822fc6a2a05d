package plain

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// TOMLStyle selects the layout of EncodeTOML.
type TOMLStyle int

const (
	// TOMLCompact lays out the document like the toml crate's to_string:
	// arrays inline on one line.
	TOMLCompact TOMLStyle = iota
	// TOMLPretty lays out arrays of two or more elements one element per
	// line (four-space indent, trailing comma), like to_string_pretty.
	TOMLPretty
	// TOMLPrettyCompact is TOMLCompact with empty tables written inline as
	// `key = {}` instead of as an empty [key] section (KumoMTA's
	// toml_encode_pretty_compact).
	TOMLPrettyCompact
	// TOMLEdit is TOMLCompact with scalars written the way toml_edit
	// displays them (KumoMTA's tsa-daemon shaping.toml): a string or key
	// that would need escaping is a literal '...' string when it can be
	// one; floats are plain decimals, never exponents, with ".0" when
	// integral (1.0, 1e-7 as 0.0000001); a time.Time is a TOML date-time
	// (see FormatTime) rather than a string.
	TOMLEdit
)

// EncodeTOML encodes v, which must be a table (a map with string keys), as
// a TOML document. The keys of a map[string]any are sorted, those of a *Map
// keep the map's order (as AppendJSON writes them); within a table plain
// values come first, then sub-tables ([a.b]) and arrays of tables ([[a.b]])
// in key order. A table that holds only sub-tables gets no header of its
// own. Tables and arrays of tables are separated by a blank line.
//
// Integral numbers that fit in an int64 are written as integers (except
// in TOMLEdit), NaN and infinities as nan, inf and -inf. Nil map entries
// are omitted; nil array elements are an error because TOML has no null.
func EncodeTOML(v any, style TOMLStyle) (string, error) {
	e := &tomlEncoder{style: style}
	n, err := e.value(v, 0)
	if err != nil {
		return "", err
	}
	root, ok := n.(*Map)
	if !ok {
		return "", InvalidType(n, "a table with string keys (a TOML document)")
	}
	if err := e.table(nil, root, false); err != nil {
		return "", err
	}
	var out []byte
	first := true
	for _, t := range e.tables {
		if t.key == nil {
			if len(t.body) == 0 {
				continue
			}
		} else if !t.array && len(t.body) == 0 && t.hasChildren {
			continue // implicit: defined by its sub-tables' headers
		}
		if !first {
			out = append(out, '\n')
		}
		first = false
		if t.key != nil {
			out = AppendTOMLHeader(out, t.key, t.array, style)
		}
		out = append(out, t.body...)
	}
	return string(out), nil
}

// AppendTOMLHeader appends the header line of the table at path, "[a.b]\n"
// ("[[a.b]]\n" for an element of an array of tables), its keys written as
// AppendTOMLKey writes them.
func AppendTOMLHeader(dst []byte, path []string, array bool, style TOMLStyle) []byte {
	dst = append(dst, '[')
	if array {
		dst = append(dst, '[')
	}
	for i, k := range path {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = AppendTOMLKey(dst, k, style)
	}
	dst = append(dst, ']')
	if array {
		dst = append(dst, ']')
	}
	return append(dst, '\n')
}

// AppendTOMLValue appends v (plain data, or what Normalize accepts) as an
// inline TOML value in the given style: arrays on one line (several lines
// in TOMLPretty), tables as inline tables "{ a = 1 }". Nil map entries are
// omitted; nil itself, or as an array element, is an error, and then dst
// is returned as it was.
func AppendTOMLValue(dst []byte, v any, style TOMLStyle) ([]byte, error) {
	e := &tomlEncoder{style: style}
	n, err := e.value(v, 0)
	if err != nil {
		return dst, err
	}
	out, err := e.inline(dst, n)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// value converts v to the form the TOML writer walks: plain data with
// every table as a *Map (a map[string]any's keys sorted, a *Map's kept in
// order) and nil table entries removed (TOML has no null; a table whose
// entries are all nil is then empty). Nil array elements stay, to be
// reported as errors. In TOMLEdit a time.Time stays one.
func (e *tomlEncoder) value(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	switch x := v.(type) {
	case *Map:
		out := NewMap(x.Len())
		for i, k := range x.keys {
			if err := checkKey(k); err != nil {
				return nil, err
			}
			if x.values[i] == nil {
				continue
			}
			n, err := e.value(x.values[i], depth+1)
			if err != nil {
				return nil, AtField(err, k)
			}
			out.Set(k, n)
		}
		return out, nil
	case map[string]any:
		out := NewMap(len(x))
		for _, k := range SortedKeys(x) {
			if err := checkKey(k); err != nil {
				return nil, err
			}
			if x[k] == nil {
				continue
			}
			n, err := e.value(x[k], depth+1)
			if err != nil {
				return nil, AtField(err, k)
			}
			out.Set(k, n)
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			n, err := e.value(el, depth+1)
			if err != nil {
				return nil, AtIndex(err, i+1)
			}
			out[i] = n
		}
		return out, nil
	case nil, bool, int64, float64:
		return x, nil
	case time.Time:
		if e.style == TOMLEdit {
			return x, nil
		}
	}
	n, err := normalize(v, depth)
	if err != nil {
		return nil, err
	}
	switch n.(type) {
	case map[string]any, []any:
		return e.value(n, depth)
	}
	return n, nil
}

type tomlTable struct {
	key         []string // nil for the root table
	array       bool     // an element of an array of tables
	body        []byte
	hasChildren bool
}

type tomlEncoder struct {
	style  TOMLStyle
	tables []*tomlTable
}

// isSection reports whether v is written as a [section] of its own.
func (e *tomlEncoder) isSection(v any) bool {
	m, ok := v.(*Map)
	return ok && (m.Len() > 0 || e.style != TOMLPrettyCompact)
}

// isArrayOfTables reports whether v is written as [[sections]].
func isArrayOfTables(v any) bool {
	a, ok := v.([]any)
	if !ok || len(a) == 0 {
		return false
	}
	for _, el := range a {
		if _, ok := el.(*Map); !ok {
			return false
		}
	}
	return true
}

func (e *tomlEncoder) table(key []string, m *Map, array bool) error {
	t := &tomlTable{key: key, array: array}
	e.tables = append(e.tables, t)
	for i, k := range m.keys {
		v := m.values[i]
		if e.isSection(v) || isArrayOfTables(v) {
			continue
		}
		t.body = AppendTOMLKey(t.body, k, e.style)
		t.body = append(t.body, " = "...)
		var err error
		if t.body, err = e.inline(t.body, v); err != nil {
			return AtField(err, k)
		}
		t.body = append(t.body, '\n')
	}
	for i, k := range m.keys {
		v := m.values[i]
		sub := append(append([]string(nil), key...), k)
		switch {
		case e.isSection(v):
			t.hasChildren = true
			if err := e.table(sub, v.(*Map), false); err != nil {
				return AtField(err, k)
			}
		case isArrayOfTables(v):
			t.hasChildren = true
			for i, el := range v.([]any) {
				if err := e.table(sub, el.(*Map), true); err != nil {
					return AtField(AtIndex(err, i+1), k)
				}
			}
		}
	}
	return nil
}

// inline appends v (converted by value) as an inline TOML value.
func (e *tomlEncoder) inline(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return b, &Error{Msg: "cannot encode nil as TOML (TOML has no null value)"}
	case bool:
		b = strconv.AppendBool(b, x)
	case int64:
		b = strconv.AppendInt(b, x, 10)
	case float64:
		switch {
		case math.IsNaN(x):
			b = append(b, "nan"...)
		case math.IsInf(x, 1):
			b = append(b, "inf"...)
		case math.IsInf(x, -1):
			b = append(b, "-inf"...)
		case e.style == TOMLEdit:
			start := len(b)
			b = strconv.AppendFloat(b, x, 'f', -1, 64)
			if !bytes.ContainsRune(b[start:], '.') {
				b = append(b, ".0"...)
			}
		default:
			b = appendNumber(b, x)
		}
	case string:
		b = appendTOMLString(b, x, e.style)
	case time.Time:
		b = append(b, FormatTime(x)...)
	case []any:
		multiline := e.style == TOMLPretty && len(x) >= 2
		b = append(b, '[')
		for i, el := range x {
			if multiline {
				b = append(b, "\n    "...)
			} else if i > 0 {
				b = append(b, ", "...)
			}
			if b, err = e.inline(b, el); err != nil {
				return b, AtIndex(err, i+1)
			}
			if multiline {
				b = append(b, ',')
			}
		}
		if multiline {
			b = append(b, '\n')
		}
		b = append(b, ']')
	case *Map:
		b = append(b, '{')
		for i, k := range x.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, ' ')
			b = AppendTOMLKey(b, k, e.style)
			b = append(b, " = "...)
			if b, err = e.inline(b, x.values[i]); err != nil {
				return b, AtField(err, k)
			}
		}
		if x.Len() > 0 {
			b = append(b, ' ')
		}
		b = append(b, '}')
	default:
		return b, &Error{Msg: fmt.Sprintf("cannot encode a Go value of type %T", v)}
	}
	return b, nil
}

// AppendTOMLKey appends k as a bare key when it may be one (non-empty, only
// A-Za-z0-9_-), else quoted as a string value is in the given style.
func AppendTOMLKey(dst []byte, k string, style TOMLStyle) []byte {
	if k == "" {
		return append(dst, `""`...)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return appendTOMLString(dst, k, style)
		}
	}
	return append(dst, k...)
}

// appendTOMLString appends s (valid UTF-8) as a TOML basic string, escaped.
// In TOMLEdit a string holding a quote, a backslash or a tab is instead a
// literal '...' string when it can be one (no apostrophe, no other control
// character), as toml_edit writes it.
func appendTOMLString(b []byte, s string, style TOMLStyle) []byte {
	if style == TOMLEdit && strings.ContainsAny(s, "\"\\\t") && !strings.Contains(s, "'") &&
		strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) < 0 {
		return append(append(append(b, '\''), s...), '\'')
	}
	return AppendQuoted(b, s, TOML)
}
