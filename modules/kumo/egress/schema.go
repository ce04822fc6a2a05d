package egress

import "github.com/kumopolicy/kumopolicy/modules/kumo/plain"

// Field constructors for the egress value grammars (throttles, limits,
// key sources, CIDR sets); the generic ones are in package plain.

// OptThrottleField is an optional ThrottleSpec, serialized canonically.
func OptThrottleField[T any](name string, get func(*T) **ThrottleSpec) plain.Field[T] {
	return plain.Field[T]{
		Name: name,
		Decode: func(dst *T, v any) error {
			t, err := DecodeThrottleSpec(v)
			*get(dst) = &t
			return err
		},
		Encode: func(src *T) any {
			if p := *get(src); p != nil {
				return p.String()
			}
			return nil
		},
	}
}

// ThrottleMapField is a name → ThrottleSpec map.
func ThrottleMapField[T any](name string, get func(*T) *[]plain.Named[ThrottleSpec]) plain.Field[T] {
	return plain.Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = plain.DecodeNamedMap(v, DecodeThrottleSpec); return },
		Encode: func(src *T) any {
			entries := *get(src)
			m := plain.NewMap(len(entries))
			for _, e := range entries {
				m.Set(e.Name, e.Value.String())
			}
			return m
		},
	}
}

// LimitField is a LimitSpec, serialized in its struct form.
func LimitField[T any](name string, get func(*T) *LimitSpec) plain.Field[T] {
	return plain.Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = DecodeLimitSpec(v); return },
		Encode: func(src *T) any { return get(src).Serialize() },
	}
}

// LimitMapField is a name → LimitSpec map.
func LimitMapField[T any](name string, get func(*T) *[]plain.Named[LimitSpec]) plain.Field[T] {
	return plain.Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = plain.DecodeNamedMap(v, DecodeLimitSpec); return },
		Encode: func(src *T) any {
			entries := *get(src)
			m := plain.NewMap(len(entries))
			for _, e := range entries {
				m.Set(e.Name, e.Value.Serialize())
			}
			return m
		},
	}
}

// OptKeySourceField is an optional KeySource.
func OptKeySourceField[T any](name string, get func(*T) **KeySource) plain.Field[T] {
	return plain.Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = DecodeKeySource(v); return },
		Encode: func(src *T) any {
			if p := *get(src); p != nil {
				return p.Serialize()
			}
			return nil
		},
	}
}

// CIDRSetField is a CIDRSet, serialized as a sequence of strings.
func CIDRSetField[T any](name string, get func(*T) *CIDRSet) plain.Field[T] {
	return plain.Field[T]{
		Name:   name,
		Decode: func(dst *T, v any) (err error) { *get(dst), err = DecodeCIDRSet(v); return },
		Encode: func(src *T) any { return plain.StringsToAny(get(src).Strings()) },
	}
}
