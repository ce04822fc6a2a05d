package plain

import (
	"math"
	"slices"
	"time"
)

// Field describes one field of a struct schema: how to decode it from
// plain data into a *T, and how to serialize it back.
type Field[T any] struct {
	Name     string
	Required bool
	// Decode stores v (never nil) into dst.
	Decode func(dst *T, v any) error
	// Encode returns the serialized value (nil for an Option that is
	// None). A nil Encode leaves the field out of the serialized form.
	Encode func(src *T) any
}

// Req returns f marked as required.
func (f Field[T]) Req() Field[T] {
	f.Required = true
	return f
}

// Schema decodes plain data into a T strictly, field by field, and
// serializes a T back with its fields in declaration order. It is the
// table-driven form of a serde struct with deny_unknown_fields.
//
// Decoding checks, in this order: that the input is a map; that it has no
// unknown key (the first one in sorted order is reported); each present
// field, in declaration order; that required fields are present. Fields
// that are absent keep the value dst already has, so callers start from
// the defaults.
type Schema[T any] struct {
	Name  string // the struct's name in type errors ("struct EgressPathConfig")
	names []string
	// listUnknown: report the expected field names with an unknown
	// field, as serde does for ordinary structs. KumoMTA's structs with a
	// flattened member report the name alone; kumopolicy then suggests
	// the closest field name instead.
	listUnknown bool
	// bareUnknown: report an unknown field by its name alone, without a
	// suggestion (see Flattened).
	bareUnknown bool
	// ignoreUnknown: skip unknown keys (see IgnoreUnknown).
	ignoreUnknown bool
	// keyOrder: visit the keys in sorted order (see InKeyOrder).
	keyOrder bool
	fields   []Field[T]
	index    map[string]int
}

// NewSchema builds a schema.
func NewSchema[T any](name string, listUnknown bool, fields ...Field[T]) *Schema[T] {
	s := &Schema[T]{Name: name, listUnknown: listUnknown, fields: fields, index: make(map[string]int, len(fields))}
	for i, f := range fields {
		s.names = append(s.names, f.Name)
		s.index[f.Name] = i
	}
	return s
}

// Flattened makes s report an unknown field by its name alone, with no
// list and no suggestion: serde's wording for a struct with a
// #[serde(flatten)] member. It returns s.
func (s *Schema[T]) Flattened() *Schema[T] {
	s.listUnknown, s.bareUnknown = false, true
	return s
}

// IgnoreUnknown makes s skip the keys it does not know, as a serde struct
// without deny_unknown_fields does. It returns s.
func (s *Schema[T]) IgnoreUnknown() *Schema[T] {
	s.ignoreUnknown = true
	return s
}

// InKeyOrder makes s walk the input's keys in sorted order, decoding each
// and stopping at the first unknown or invalid one, as serde does walking
// a map; required fields are still checked last. Without it, unknown keys
// are reported before any field is decoded, and fields are decoded in
// declaration order. It returns s.
func (s *Schema[T]) InKeyOrder() *Schema[T] {
	s.keyOrder = true
	return s
}

// Fields returns the schema's fields, for embedding them in another
// schema (see Embed).
func (s *Schema[T]) Fields() []Field[T] { return slices.Clone(s.fields) }

// Embed lifts the fields of an embedded struct E into fields of T, which
// reaches its E through get: serde's #[serde(flatten)].
func Embed[T, E any](get func(*T) *E, fields []Field[E]) []Field[T] {
	out := make([]Field[T], len(fields))
	for i, f := range fields {
		out[i] = Field[T]{Name: f.Name, Required: f.Required}
		if f.Decode != nil {
			out[i].Decode = func(dst *T, v any) error { return f.Decode(get(dst), v) }
		}
		if f.Encode != nil {
			out[i].Encode = func(src *T) any { return f.Encode(get(src)) }
		}
	}
	return out
}

// FieldNames returns the field names in declaration order.
func (s *Schema[T]) FieldNames() []string { return slices.Clone(s.names) }

// Decode decodes v into dst (see Schema).
func (s *Schema[T]) Decode(dst *T, v any) error {
	if s.keyOrder {
		return s.decodeInKeyOrder(dst, v)
	}
	// An ordered map is read in place: converting it to a Go map first
	// would cost more than the decoding itself on hot paths.
	var buf [16]int
	present := buf[:0]
	var unknown string
	consider := func(k string) {
		i, ok := s.index[k]
		if !ok {
			if unknown == "" || k < unknown {
				unknown = k
			}
			return
		}
		present = append(present, i)
	}
	var get func(name string) any
	if om, ok := v.(*Map); ok {
		get = om.Value
		for _, k := range om.Keys() {
			consider(k)
		}
	} else {
		m, err := AsMap(v, "struct "+s.Name)
		if err != nil {
			return err
		}
		get = func(name string) any { return m[name] }
		for k := range m {
			consider(k)
		}
	}
	if unknown != "" && !s.ignoreUnknown {
		return s.unknownField(unknown)
	}
	slices.Sort(present)
	for _, i := range present {
		f := &s.fields[i]
		val := get(f.Name)
		if val == nil {
			continue
		}
		if err := f.Decode(dst, val); err != nil {
			return AtField(err, f.Name)
		}
	}
	return s.checkRequired(get)
}

// decodeInKeyOrder is Decode for InKeyOrder.
func (s *Schema[T]) decodeInKeyOrder(dst *T, v any) error {
	var keys []string
	var get func(name string) any
	if om, ok := v.(*Map); ok {
		keys = slices.Sorted(slices.Values(om.Keys()))
		get = om.Value
	} else {
		m, err := AsMap(v, "struct "+s.Name)
		if err != nil {
			return err
		}
		keys = SortedKeys(m)
		get = func(name string) any { return m[name] }
	}
	for _, k := range keys {
		i, ok := s.index[k]
		if !ok {
			if s.ignoreUnknown {
				continue
			}
			return s.unknownField(k)
		}
		val := get(k)
		if val == nil {
			continue
		}
		if err := s.fields[i].Decode(dst, val); err != nil {
			return AtField(err, k)
		}
	}
	return s.checkRequired(get)
}

// unknownField is the error for the unknown key name.
func (s *Schema[T]) unknownField(name string) error {
	if s.listUnknown {
		return UnknownField(name, s.names)
	}
	err := UnknownField(name, nil).(*Error)
	if s.bareUnknown {
		return err
	}
	if near := closestName(name, s.names); near != "" {
		err.Msg += ", did you mean `" + near + "`?"
	}
	return err
}

// checkRequired fails on the first required field that is absent.
func (s *Schema[T]) checkRequired(get func(name string) any) error {
	for i := range s.fields {
		f := &s.fields[i]
		if f.Required && get(f.Name) == nil {
			return MissingField(f.Name)
		}
	}
	return nil
}

// Encode returns the serialized form of src: every serialized field, in
// declaration order.
func (s *Schema[T]) Encode(src *T) *Map {
	m := NewMap(len(s.fields))
	for i := range s.fields {
		f := &s.fields[i]
		if f.Encode != nil {
			m.Set(f.Name, f.Encode(src))
		}
	}
	return m
}

// closestName returns the name within edit distance 2 of want (and
// closer than a third of its length), or "".
func closestName(want string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		d := editDistance(want, n)
		if d < bestDist && d*3 <= len(want) {
			best, bestDist = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Field constructors. Each takes an accessor returning a pointer to the
// field's storage inside T, used both to decode into and to serialize.

// BoolField is a boolean.
func BoolField[T any](name string, get func(*T) *bool) Field[T] {
	return Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = DecodeBool(v); return },
		Encode: func(src *T) any { return *get(src) },
	}
}

// UintField is an unsigned integer of bitSize bits (64 reads as usize).
func UintField[T any, U ~uint16 | ~uint32 | ~uint64](name string, bitSize int, get func(*T) *U) Field[T] {
	return Field[T]{
		Name: name,
		Decode: func(dst *T, v any) error {
			n, err := DecodeUint(v, bitSize)
			*get(dst) = U(n)
			return err
		},
		Encode: func(src *T) any { return UintValue(uint64(*get(src))) },
	}
}

// OptUintField is an optional unsigned integer.
func OptUintField[T any, U ~uint16 | ~uint32 | ~uint64](name string, bitSize int, get func(*T) **U) Field[T] {
	return Field[T]{
		Name: name,
		Decode: func(dst *T, v any) error {
			n, err := DecodeUint(v, bitSize)
			u := U(n)
			*get(dst) = &u
			return err
		},
		Encode: func(src *T) any {
			if p := *get(src); p != nil {
				return UintValue(uint64(*p))
			}
			return nil
		},
	}
}

// StringField is a required-kind string (absent keeps the default).
func StringField[T any](name string, get func(*T) *string) Field[T] {
	return Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = DecodeString(v); return },
		Encode: func(src *T) any { return *get(src) },
	}
}

// OptStringField is an optional string.
func OptStringField[T any](name string, get func(*T) **string) Field[T] {
	return Field[T]{
		Name: name,
		Decode: func(dst *T, v any) error {
			s, err := DecodeString(v)
			*get(dst) = &s
			return err
		},
		Encode: func(src *T) any { return OptString(*get(src)) },
	}
}

// EnumField is an enumeration stored as its variant name.
func EnumField[T any](name string, e Enum, get func(*T) *string) Field[T] {
	return Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = e.Decode(v); return },
		Encode: func(src *T) any { return *get(src) },
	}
}

// DurationField is a duration, serialized in humantime form.
func DurationField[T any](name string, get func(*T) *time.Duration) Field[T] {
	return Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = DecodeDuration(v); return },
		Encode: func(src *T) any { return FormatDuration(*get(src)) },
	}
}

// OptDurationField is an optional duration.
func OptDurationField[T any](name string, get func(*T) **time.Duration) Field[T] {
	return Field[T]{
		Name: name,
		Decode: func(dst *T, v any) error {
			d, err := DecodeDuration(v)
			*get(dst) = &d
			return err
		},
		Encode: func(src *T) any {
			if p := *get(src); p != nil {
				return FormatDuration(*p)
			}
			return nil
		},
	}
}

// OptBoolField is an optional boolean.
func OptBoolField[T any](name string, get func(*T) **bool) Field[T] {
	return Field[T]{
		Name: name,
		Decode: func(dst *T, v any) error {
			b, err := DecodeBool(v)
			*get(dst) = &b
			return err
		},
		Encode: func(src *T) any {
			if p := *get(src); p != nil {
				return *p
			}
			return nil
		},
	}
}

// OptEnumField is an optional enumeration stored as its variant name.
func OptEnumField[T any](name string, e Enum, get func(*T) **string) Field[T] {
	return Field[T]{
		Name: name,
		Decode: func(dst *T, v any) error {
			s, err := e.Decode(v)
			*get(dst) = &s
			return err
		},
		Encode: func(src *T) any { return OptString(*get(src)) },
	}
}

// StringListField is a sequence of strings (see DecodeStringList).
func StringListField[T any](name string, get func(*T) *[]string) Field[T] {
	return Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = DecodeStringList(v); return },
		Encode: func(src *T) any { return StringsToAny(*get(src)) },
	}
}

// StringsToAny converts a string slice to a plain sequence.
func StringsToAny(s []string) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}

// UintValue returns n as plain data: an int64, or a uint64 beyond its
// range.
func UintValue(n uint64) any {
	if n > math.MaxInt64 {
		return n
	}
	return int64(n)
}

// OptString returns *s, or nil when s is nil (an Option that is None).
func OptString(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
