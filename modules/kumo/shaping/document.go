// Package shaping is kumopolicy's native traffic-shaping engine: it loads
// KumoMTA shaping files (TOML or JSON, local or remote), merges them and
// resolves egress path configuration for a domain, site and source. It is
// Lua-free; the kumo.shaping binding wraps it.
package shaping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Table is a TOML table or JSON object that remembers the order its keys
// were written in; order is semantic in shaping files (domain blocks,
// providers). Values are bool, int64, float64, string, []any or *Table.
type Table struct {
	keys []string
	vals map[string]any
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{vals: map[string]any{}} }

// Keys returns the keys in document order. The slice must not be modified.
func (t *Table) Keys() []string { return t.keys }

// Len returns the number of keys.
func (t *Table) Len() int { return len(t.keys) }

// Get returns the value of key k.
func (t *Table) Get(k string) (any, bool) {
	v, ok := t.vals[k]
	return v, ok
}

// Set stores v under k, appending k to the order when it is new.
func (t *Table) Set(k string, v any) {
	if _, ok := t.vals[k]; !ok {
		t.keys = append(t.keys, k)
	}
	t.vals[k] = v
}

// Delete removes k.
func (t *Table) Delete(k string) {
	if _, ok := t.vals[k]; !ok {
		return
	}
	delete(t.vals, k)
	for i, key := range t.keys {
		if key == k {
			t.keys = append(t.keys[:i:i], t.keys[i+1:]...)
			break
		}
	}
}

// Clone returns a deep copy.
func (t *Table) Clone() *Table {
	out := &Table{keys: append([]string(nil), t.keys...), vals: make(map[string]any, len(t.vals))}
	for k, v := range t.vals {
		out.vals[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case *Table:
		return x.Clone()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// Plain converts the table to plain Go data (map[string]any and []any all
// the way down), dropping the order.
func (t *Table) Plain() map[string]any {
	out := make(map[string]any, len(t.vals))
	for k, v := range t.vals {
		out[k] = plainValue(v)
	}
	return out
}

func plainValue(v any) any {
	switch x := v.(type) {
	case *Table:
		return x.Plain()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	}
	return v
}

// ParseTOML parses TOML text into an ordered table. Date-times become
// RFC 3339 strings, as kumo.serde does.
func ParseTOML(data []byte) (*Table, error) {
	var raw map[string]any
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d column %d: %s", pe.Position.Line, pe.Position.Col, pe.Message)
		}
		return nil, err
	}
	order := map[string][]string{}
	seen := map[string]bool{}
	for _, key := range md.Keys() {
		// [a."b"] defines a implicitly: every prefix takes its place in
		// its parent's order the first time it is seen.
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

func orderedFromTOML(m map[string]any, path string, order map[string][]string) *Table {
	t := &Table{vals: make(map[string]any, len(m))}
	for _, k := range order[path] {
		if v, ok := m[k]; ok {
			t.Set(k, tomlValue(v, childPath(path, k), order))
		}
	}
	// Keys the metadata did not list (none expected) go last, sorted.
	var rest []string
	for k := range m {
		if _, ok := t.vals[k]; !ok {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		t.Set(k, tomlValue(m[k], childPath(path, k), order))
	}
	return t
}

func childPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "\x00" + k
}

func tomlValue(v any, path string, order map[string][]string) any {
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
			out[i] = tomlValue(e, path, order)
		}
		return out
	case time.Time:
		return plain.FormatTime(x)
	}
	return v
}

// JSONLeniency records what a lenient JSON parse had to forgive.
type JSONLeniency struct {
	Comments       bool // the text had // /* */ or # comments
	TrailingCommas bool // the text had a comma before } or ]
}

// Any reports whether the text relied on any leniency.
func (l JSONLeniency) Any() bool { return l.Comments || l.TrailingCommas }

func (l JSONLeniency) String() string {
	var parts []string
	if l.Comments {
		parts = append(parts, "comments")
	}
	if l.TrailingCommas {
		parts = append(parts, "trailing commas")
	}
	return strings.Join(parts, " and ")
}

// ParseJSON parses a JSON object into an ordered table. Comments and
// trailing commas are accepted (KumoMTA's shaping loader rejects both; the
// returned JSONLeniency says whether they were present so callers can
// warn). Numbers that are integers stay int64. A duplicate key is an error.
func ParseJSON(data []byte) (*Table, JSONLeniency, error) {
	var lenient JSONLeniency
	stripped, err := plain.StripComments(data)
	if err != nil {
		return nil, lenient, err
	}
	lenient.Comments = !bytes.Equal(stripped, data)
	cleaned, trailing := stripTrailingCommas(stripped)
	lenient.TrailingCommas = trailing

	dec := json.NewDecoder(bytes.NewReader(cleaned))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, lenient, jsonError(cleaned, dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, lenient, fmt.Errorf("line 1: expected a JSON object at the top level")
	}
	t, err := decodeJSONObject(dec, cleaned)
	if err != nil {
		return nil, lenient, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, lenient, posError(cleaned, dec.InputOffset(), "trailing characters after the top-level object")
	}
	return t, lenient, nil
}

func decodeJSONObject(dec *json.Decoder, src []byte) (*Table, error) {
	t := NewTable()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(src, dec, err)
		}
		key := tok.(string)
		if _, dup := t.vals[key]; dup {
			return nil, posError(src, dec.InputOffset(), fmt.Sprintf("duplicate key %q", key))
		}
		v, err := decodeJSONValue(dec, src)
		if err != nil {
			return nil, err
		}
		t.Set(key, v)
	}
	if _, err := dec.Token(); err != nil { // the closing }
		return nil, jsonError(src, dec, err)
	}
	return t, nil
}

func decodeJSONValue(dec *json.Decoder, src []byte) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(src, dec, err)
	}
	switch x := tok.(type) {
	case json.Delim:
		switch x {
		case '{':
			return decodeJSONObject(dec, src)
		case '[':
			var arr []any
			for dec.More() {
				v, err := decodeJSONValue(dec, src)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonError(src, dec, err)
			}
			if arr == nil {
				arr = []any{}
			}
			return arr, nil
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, posError(src, dec.InputOffset(), fmt.Sprintf("number %s out of range", x))
		}
		return f, nil
	case nil:
		return nil, posError(src, dec.InputOffset(), "null is not allowed in shaping data")
	}
	return tok, nil
}

func jsonError(src []byte, dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return posError(src, se.Offset, se.Error())
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return posError(src, int64(len(src)), "unexpected end of input")
	}
	return posError(src, dec.InputOffset(), err.Error())
}

func posError(src []byte, off int64, msg string) error {
	if off > int64(len(src)) {
		off = int64(len(src))
	}
	line := 1 + bytes.Count(src[:off], []byte{'\n'})
	col := off - int64(bytes.LastIndexByte(src[:off], '\n'))
	return fmt.Errorf("line %d column %d: %s", line, col, msg)
}

// stripTrailingCommas blanks every comma that (outside strings) is followed
// only by white space before a closing } or ]. Offsets are preserved.
func stripTrailingCommas(src []byte) ([]byte, bool) {
	var out []byte
	inString, escaped := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		if c != ',' {
			continue
		}
		j := i + 1
		for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
			j++
		}
		if j < len(src) && (src[j] == '}' || src[j] == ']') {
			if out == nil {
				out = append([]byte(nil), src...)
			}
			out[i] = ' '
		}
	}
	if out == nil {
		return src, false
	}
	return out, true
}
