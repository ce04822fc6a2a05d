// Package regexset is the Lua-free core of kumo.regex_set_map: an
// immutable map from regular expressions (KumoMTA's dialect, package
// regex) to values, looked up with a haystack that the patterns are
// searched in.
package regexset

import (
	"fmt"
	"sort"

	"github.com/kumopolicy/kumopolicy/modules/kumo/regex"
)

// Map maps patterns to values. It is immutable once built and safe for
// concurrent use.
type Map[V any] struct {
	entries []entry[V]
}

type entry[V any] struct {
	re    *regex.Regexp
	value V
}

// New compiles every pattern of m. Patterns are kept in byte order of their
// text, which is the order Lookup tries them in: a Lua table, where the
// patterns come from, has no order of its own, so this is what makes the
// winner among several matching patterns the same on every run.
func New[V any](m map[string]V) (*Map[V], error) {
	patterns := make([]string, 0, len(m))
	for p := range m {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	out := &Map[V]{entries: make([]entry[V], 0, len(patterns))}
	for _, p := range patterns {
		re, err := regex.Compile(p)
		if err != nil {
			return nil, err
		}
		out.entries = append(out.entries, entry[V]{re: re, value: m[p]})
	}
	return out, nil
}

// Lookup returns the value of the first pattern (in byte order) that
// matches anywhere in haystack. The error is non-nil only when a
// backtracking search ran out of time.
func (m *Map[V]) Lookup(haystack string) (V, bool, error) {
	for _, e := range m.entries {
		ok, err := e.re.MatchString(haystack)
		if err != nil {
			var zero V
			return zero, false, fmt.Errorf("matching %q: %w", haystack, err)
		}
		if ok {
			return e.value, true, nil
		}
	}
	var zero V
	return zero, false, nil
}

// Len returns the number of patterns.
func (m *Map[V]) Len() int { return len(m.entries) }

// Each calls f with every pattern and its value, in lookup order.
func (m *Map[V]) Each(f func(pattern string, value V)) {
	for _, e := range m.entries {
		f(e.re.String(), e.value)
	}
}
