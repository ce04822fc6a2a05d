package plain

// Map is an ordered string-keyed map: a TOML table or JSON object that
// remembers the order its keys were written in (order is semantic in
// shaping files), and the serialized form of a config, with its fields in
// declaration order. Values are plain data; nested maps are *Map.
//
// A Map is written while it is built and only read afterwards: reads,
// possibly from several goroutines, never modify it.
type Map struct {
	keys   []string
	values []any
	index  map[string]int // built by Set once the map grows past indexThreshold keys
}

// indexThreshold is the size beyond which lookups use a hash index rather
// than a linear scan.
const indexThreshold = 32

// NewMap returns an empty Map with room for n entries.
func NewMap(n int) *Map {
	return &Map{keys: make([]string, 0, n), values: make([]any, 0, n)}
}

// Set stores value under key, appending key to the order when it is new.
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
		m.reindex()
	}
}

func (m *Map) reindex() {
	m.index = make(map[string]int, cap(m.keys))
	for i, k := range m.keys {
		m.index[k] = i
	}
}

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

// Value returns the value of key, nil when absent.
func (m *Map) Value(key string) any {
	if i, ok := m.lookup(key); ok {
		return m.values[i]
	}
	return nil
}

// Has reports whether key is present.
func (m *Map) Has(key string) bool {
	_, ok := m.lookup(key)
	return ok
}

// Delete removes key, keeping the order of the others.
func (m *Map) Delete(key string) {
	i, ok := m.lookup(key)
	if !ok {
		return
	}
	m.keys = append(m.keys[:i:i], m.keys[i+1:]...)
	m.values = append(m.values[:i:i], m.values[i+1:]...)
	if m.index != nil {
		m.reindex()
	}
}

// Len returns the number of keys.
func (m *Map) Len() int { return len(m.keys) }

// Keys returns the keys in order. The slice must not be modified.
func (m *Map) Keys() []string { return m.keys }

// At returns the i-th key and value.
func (m *Map) At(i int) (string, any) { return m.keys[i], m.values[i] }

// Clone returns a deep copy: nested maps and sequences are copied too.
func (m *Map) Clone() *Map {
	out := &Map{keys: append([]string(nil), m.keys...), values: make([]any, len(m.values))}
	for i, v := range m.values {
		out.values[i] = Clone(v)
	}
	if m.index != nil {
		out.reindex()
	}
	return out
}

// Clone returns a deep copy of a plain value: *Map, []any and
// map[string]any are copied, other values returned as they are.
func Clone(v any) any {
	switch x := v.(type) {
	case *Map:
		return x.Clone()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Clone(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Clone(e)
		}
		return out
	}
	return v
}

// Plain converts m to unordered plain data (map[string]any, recursively),
// keeping nil values when keepNil is true and dropping them otherwise.
func (m *Map) Plain(keepNil bool) map[string]any {
	out := make(map[string]any, len(m.keys))
	for i, k := range m.keys {
		v := m.values[i]
		if v == nil && !keepNil {
			continue
		}
		out[k] = Unordered(v, keepNil)
	}
	return out
}

// Unordered converts v to plain data without *Map (see Map.Plain).
func Unordered(v any, keepNil bool) any {
	switch x := v.(type) {
	case *Map:
		return x.Plain(keepNil)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Unordered(e, keepNil)
		}
		return out
	}
	return v
}

// MarshalJSON writes m as a compact JSON object with its keys in order.
func (m *Map) MarshalJSON() ([]byte, error) {
	return AppendJSON(nil, m, JSONOptions{})
}
