package plain

import (
	"fmt"
	"math"
	"strconv"
	"strings"
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
)

// EncodeTOML encodes v, which must be a table (a map with string keys), as
// a TOML document. The keys of a map[string]any are sorted, those of a *Map
// keep the map's order (as AppendJSON writes them); within a table plain
// values come first, then sub-tables ([a.b]) and arrays of tables ([[a.b]])
// in key order. A table that holds only sub-tables gets no header of its
// own. Tables and arrays of tables are separated by a blank line.
//
// Integral numbers that fit in an int64 are written as integers, NaN and
// infinities as nan, inf and -inf. Nil map entries are omitted; nil array
// elements are an error because TOML has no null.
func EncodeTOML(v any, style TOMLStyle) (string, error) {
	n, err := tomlValue(v, 0)
	if err != nil {
		return "", err
	}
	root, ok := n.(*Map)
	if !ok {
		return "", InvalidType(n, "a table with string keys (a TOML document)")
	}
	e := &tomlEncoder{style: style}
	if err := e.table(nil, root, false); err != nil {
		return "", err
	}
	var out strings.Builder
	first := true
	for _, t := range e.tables {
		if t.key == nil {
			if t.body.Len() == 0 {
				continue
			}
		} else if !t.array && t.body.Len() == 0 && t.hasChildren {
			continue // implicit: defined by its sub-tables' headers
		}
		if !first {
			out.WriteByte('\n')
		}
		first = false
		if t.key != nil {
			open, closing := "[", "]"
			if t.array {
				open, closing = "[[", "]]"
			}
			out.WriteString(open)
			for i, k := range t.key {
				if i > 0 {
					out.WriteByte('.')
				}
				out.WriteString(tomlKey(k))
			}
			out.WriteString(closing)
			out.WriteByte('\n')
		}
		out.WriteString(t.body.String())
	}
	return out.String(), nil
}

// tomlValue converts v to the form the TOML writer walks: plain data with
// every table as a *Map (a map[string]any's keys sorted, a *Map's kept in
// order) and nil table entries removed (TOML has no null; a table whose
// entries are all nil is then empty). Nil array elements stay, to be
// reported as errors.
func tomlValue(v any, depth int) (any, error) {
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
			e, err := tomlValue(x.values[i], depth+1)
			if err != nil {
				return nil, AtField(err, k)
			}
			out.Set(k, e)
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
			e, err := tomlValue(x[k], depth+1)
			if err != nil {
				return nil, AtField(err, k)
			}
			out.Set(k, e)
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			e, err := tomlValue(el, depth+1)
			if err != nil {
				return nil, AtIndex(err, i+1)
			}
			out[i] = e
		}
		return out, nil
	case nil, bool, int64, float64:
		return x, nil
	}
	n, err := normalize(v, depth)
	if err != nil {
		return nil, err
	}
	switch n.(type) {
	case map[string]any, []any:
		return tomlValue(n, depth)
	}
	return n, nil
}

type tomlTable struct {
	key         []string // nil for the root table
	array       bool     // an element of an array of tables
	body        strings.Builder
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
		t.body.WriteString(tomlKey(k))
		t.body.WriteString(" = ")
		if err := e.inline(&t.body, v); err != nil {
			return AtField(err, k)
		}
		t.body.WriteByte('\n')
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

// inline writes v as an inline TOML value.
func (e *tomlEncoder) inline(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		return &Error{Msg: "cannot encode nil as TOML (TOML has no null value)"}
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("nan")
		case math.IsInf(x, 1):
			b.WriteString("inf")
		case math.IsInf(x, -1):
			b.WriteString("-inf")
		default:
			b.WriteString(FormatNumber(x))
		}
	case string:
		writeTOMLString(b, x)
	case []any:
		multiline := e.style == TOMLPretty && len(x) >= 2
		b.WriteByte('[')
		for i, el := range x {
			if multiline {
				b.WriteString("\n    ")
			} else if i > 0 {
				b.WriteString(", ")
			}
			if err := e.inline(b, el); err != nil {
				return AtIndex(err, i+1)
			}
			if multiline {
				b.WriteByte(',')
			}
		}
		if multiline {
			b.WriteByte('\n')
		}
		b.WriteByte(']')
	case *Map:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte(' ')
			b.WriteString(tomlKey(k))
			b.WriteString(" = ")
			if err := e.inline(b, x.values[i]); err != nil {
				return AtField(err, k)
			}
		}
		if x.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('}')
	default:
		return &Error{Msg: fmt.Sprintf("cannot encode a Go value of type %T", v)}
	}
	return nil
}

// tomlKey returns k as a bare key when it may be one, else quoted.
func tomlKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			var b strings.Builder
			writeTOMLString(&b, k)
			return b.String()
		}
	}
	return k
}

// writeTOMLString writes s (valid UTF-8) as a TOML basic string.
func writeTOMLString(b *strings.Builder, s string) {
	b.Write(AppendQuoted(make([]byte, 0, len(s)+2), s, TOML))
}
