package plain

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ParseTOML parses a TOML document: kumopolicy's one TOML reader
// (kumo.toml_parse, shaping files). With ordered, tables are *Map values in
// document order (a table defined implicitly, by `[a.b]`, takes its place
// where it is first named); otherwise map[string]any. Integers become
// int64, floats float64 (inf and nan included), arrays []any (arrays of
// tables too). Date-times become strings (see FormatTime): offset
// date-times in RFC 3339, local date-times, dates and times in their TOML
// form. Syntax errors are *SyntaxError values.
func ParseTOML(data []byte, ordered bool) (any, error) {
	var raw map[string]any
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			msg := pe.Message
			if pe.LastKey != "" {
				msg = fmt.Sprintf("%s (last key %s)", msg, Quote(pe.LastKey))
			}
			return nil, &SyntaxError{Msg: msg, Line: pe.Position.Line, Column: pe.Position.Col}
		}
		return nil, err
	}
	if raw == nil {
		raw = map[string]any{}
	}
	if !ordered {
		return tomlToPlain(raw), nil
	}
	order := map[string][]string{}
	seen := map[string]bool{}
	for _, key := range md.Keys() {
		for i := 1; i <= len(key); i++ {
			parent := strings.Join(key[:i-1], "\x00")
			full := parent + "\x00\x01" + key[i-1]
			if seen[full] {
				continue
			}
			seen[full] = true
			order[parent] = append(order[parent], key[i-1])
		}
	}
	return orderedFromTOML(raw, "", order), nil
}

// tomlToPlain turns the decoder's output (which uses time.Time and
// []map[string]any) into plain data, in place where possible.
func tomlToPlain(v any) any {
	switch x := v.(type) {
	case time.Time:
		return FormatTime(x)
	case map[string]any:
		for k, e := range x {
			x[k] = tomlToPlain(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = tomlToPlain(e)
		}
		return x
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tomlToPlain(e)
		}
		return out
	}
	return v
}

func orderedFromTOML(m map[string]any, path string, order map[string][]string) *Map {
	t := NewMap(len(m))
	for _, k := range order[path] {
		if v, ok := m[k]; ok {
			t.Set(k, orderedValue(v, childPath(path, k), order))
		}
	}
	// Keys the metadata did not list (none expected) go last, sorted.
	if t.Len() < len(m) {
		var rest []string
		for k := range m {
			if !t.Has(k) {
				rest = append(rest, k)
			}
		}
		sort.Strings(rest)
		for _, k := range rest {
			t.Set(k, orderedValue(m[k], childPath(path, k), order))
		}
	}
	return t
}

func childPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "\x00" + k
}

func orderedValue(v any, path string, order map[string][]string) any {
	switch x := v.(type) {
	case map[string]any:
		return orderedFromTOML(x, path, order)
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = orderedFromTOML(e, path, order)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = orderedValue(e, path, order)
		}
		return out
	case time.Time:
		return FormatTime(x)
	}
	return v
}
