package domainmap

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// Map maps domain names and wildcard patterns to values of type V.
type Map[V any] struct {
	mu    sync.RWMutex
	exact map[string]V // normalized name -> value
	wild  map[string]V // suffix of "*.suffix" -> value; "" is the catch-all "*"
}

// New returns an empty map.
func New[V any]() *Map[V] {
	return &Map[V]{exact: map[string]V{}, wild: map[string]V{}}
}

// KeyError is a key that is not a domain name or wildcard pattern.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("invalid domain %q: %s", e.Key, e.Reason)
}

// parsed is a normalized key: a name, or the suffix of a wildcard.
type parsed struct {
	name     string // normalized name, or the wildcard's suffix
	wildcard bool
}

// pattern renders p as a key: "*", "*.suffix" or the name.
func (p parsed) pattern() string {
	switch {
	case !p.wildcard:
		return p.name
	case p.name == "":
		return "*"
	default:
		return "*." + p.name
	}
}

// canonical returns the form in which a name is stored and compared
// (kumopolicy's one DNS name rule, dns.CanonicalName: lowercased, IDNA,
// no trailing dot), or why it is not a domain name. A label containing "*"
// is refused unless star is set (looked-up names may be "*" or
// "*.example.com"; keys have their "*." split off first). Spaces and
// control characters, which DNS names may carry but domains in policies
// never do, are refused.
func canonical(name string, star bool) (string, string) {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f {
			return "", "it contains a space or control character"
		}
	}
	if strings.HasPrefix(name, "[") {
		// A domain literal ([192.0.2.1], [IPv6:...]) is a key as written.
		if err := dns.CheckDomain(name); err != nil {
			return "", err.Error()
		}
		return strings.ToLower(name), ""
	}
	n, err := dns.CanonicalName(name)
	if err != nil {
		return "", "it is not a domain name: " + err.Error()
	}
	if !star && strings.Contains(n, "*") {
		return "", `"*" is only allowed as the whole leftmost label, as in "*.example.com"`
	}
	return n, ""
}

// parseKey normalizes a key: a domain name, "*.suffix" or "*".
func parseKey(key string) (parsed, error) {
	k := strings.TrimSuffix(key, ".")
	if k == "*" {
		return parsed{wildcard: true}, nil
	}
	var p parsed
	if rest, ok := strings.CutPrefix(k, "*."); ok {
		if rest == "" {
			return parsed{}, &KeyError{Key: key, Reason: `a wildcard needs a domain after "*."`}
		}
		p.wildcard, k = true, rest
	}
	n, reason := canonical(k, false)
	if reason != "" {
		return parsed{}, &KeyError{Key: key, Reason: reason}
	}
	p.name = n
	return p, nil
}

// Set stores value under key (a domain name, "*.suffix" or "*"), replacing
// any value that key had. It fails for a key that is not a domain name.
func (m *Map[V]) Set(key string, value V) error {
	p, err := parseKey(key)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.wildcard {
		m.wild[p.name] = value
	} else {
		m.exact[p.name] = value
	}
	return nil
}

// Delete removes key. It fails only for a key that is not a domain name;
// deleting an absent key does nothing.
func (m *Map[V]) Delete(key string) error {
	p, err := parseKey(key)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.wildcard {
		delete(m.wild, p.name)
	} else {
		delete(m.exact, p.name)
	}
	return nil
}

// Get returns the value that applies to the domain name (see the package
// comment for the precedence). A name that is empty or not a domain name
// (empty labels, spaces ...) matches nothing.
func (m *Map[V]) Get(name string) (V, bool) {
	v, _, ok := m.Match(name)
	return v, ok
}

// Match is Get that also returns the key that matched, in normalized form.
func (m *Map[V]) Match(name string) (value V, key string, ok bool) {
	n, reason := canonical(name, true)
	if reason != "" {
		return value, "", false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if v, ok := m.exact[n]; ok {
		return v, n, true
	}
	for rest := n; ; {
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		if v, ok := m.wild[rest]; ok {
			return v, "*." + rest, true
		}
	}
	if v, ok := m.wild[""]; ok {
		return v, "*", true
	}
	return value, "", false
}

// Len is the number of keys.
func (m *Map[V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.exact) + len(m.wild)
}

// Entry is one key of a map and its value.
type Entry[V any] struct {
	Key   string // normalized: "example.com", "*.example.com" or "*"
	Value V
}

// Entries returns every key with its value, sorted by key.
func (m *Map[V]) Entries() []Entry[V] {
	m.mu.RLock()
	out := make([]Entry[V], 0, len(m.exact)+len(m.wild))
	for k, v := range m.exact {
		out = append(out, Entry[V]{k, v})
	}
	for k, v := range m.wild {
		out = append(out, Entry[V]{parsed{name: k, wildcard: true}.pattern(), v})
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Keys returns every key in normalized form, sorted.
func (m *Map[V]) Keys() []string {
	entries := m.Entries()
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	return keys
}

// Clone returns an independent map with the same keys and values (the
// values themselves are not copied).
func (m *Map[V]) Clone() *Map[V] {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := &Map[V]{exact: make(map[string]V, len(m.exact)), wild: make(map[string]V, len(m.wild))}
	for k, v := range m.exact {
		out.exact[k] = v
	}
	for k, v := range m.wild {
		out.wild[k] = v
	}
	return out
}
