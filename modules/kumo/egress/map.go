package egress

import (
	"bytes"
	"encoding/json"
)

// Map is an ordered string-keyed map: the serialized form of a config, with
// its fields in declaration order. Values are nil (an Option that is None),
// bool, int64, float64, string, []any or *Map.
type Map struct {
	keys   []string
	values []any
	index  map[string]int // built by Set once the map grows past a few keys
}

// NewMap returns an empty Map with room for n entries.
func NewMap(n int) *Map {
	return &Map{keys: make([]string, 0, n), values: make([]any, 0, n)}
}

// Set appends key (or replaces its value when already present).
func (m *Map) Set(key string, value any) {
	if i, ok := m.lookup(key); ok {
		m.values[i] = value
		return
	}
	m.keys = append(m.keys, key)
	m.values = append(m.values, value)
	switch {
	case m.index != nil:
		m.index[key] = len(m.keys) - 1
	case len(m.keys) > indexThreshold:
		m.index = make(map[string]int, cap(m.keys))
		for i, k := range m.keys {
			m.index[k] = i
		}
	}
}

// indexThreshold is the size beyond which lookups use a hash index rather
// than a linear scan. A Map is only written while it is built, so reads
// (possibly from several goroutines) never modify it.
const indexThreshold = 12

func (m *Map) lookup(key string) (int, bool) {
	if m.index != nil {
		i, ok := m.index[key]
		return i, ok
	}
	for i, k := range m.keys {
		if k == key {
			return i, true
		}
	}
	return 0, false
}

// Get returns the value of key and whether key is present (a present key
// may hold nil).
func (m *Map) Get(key string) (any, bool) {
	if i, ok := m.lookup(key); ok {
		return m.values[i], true
	}
	return nil, false
}

// Len returns the number of keys.
func (m *Map) Len() int { return len(m.keys) }

// Keys returns the keys in order. The slice must not be modified.
func (m *Map) Keys() []string { return m.keys }

// At returns the i-th key and value.
func (m *Map) At(i int) (string, any) { return m.keys[i], m.values[i] }

// Plain converts m to plain data (map[string]any, recursively), keeping
// nil values when keepNil is true and dropping them otherwise.
func (m *Map) Plain(keepNil bool) map[string]any {
	out := make(map[string]any, len(m.keys))
	for i, k := range m.keys {
		v := m.values[i]
		if v == nil && !keepNil {
			continue
		}
		out[k] = plainValue(v, keepNil)
	}
	return out
}

func plainValue(v any, keepNil bool) any {
	switch x := v.(type) {
	case *Map:
		return x.Plain(keepNil)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e, keepNil)
		}
		return out
	}
	return v
}

// MarshalJSON writes m as a JSON object with its keys in order.
func (m *Map) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeJSON(&b, k); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := writeJSON(&b, m.values[i]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode appends a newline
	return nil
}
