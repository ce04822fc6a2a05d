// Package cidrmap is kumo.cidr.make_map's core: a map keyed by IP network
// whose lookups find the value of the longest prefix that holds an
// address. It is Lua-free.
package cidrmap

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Map maps IP networks to values. The zero value is not usable; use New.
// A Map is not safe for concurrent changes; Clone it to share a snapshot.
type Map[V any] struct {
	entries map[netip.Prefix]V
	lengths [2][129]int // per family (0: IPv4, 1: IPv6), how many prefixes of each length
}

// New returns an empty map.
func New[V any]() *Map[V] {
	return &Map[V]{entries: map[netip.Prefix]V{}}
}

// ParseKey reads a key: an IPv4 or IPv6 address or CIDR block, a domain
// literal ("[10.0.0.1]", "[IPv6:::1]") or an address with a port
// ("127.0.0.1:25", "[::1]:25"). An address is its host prefix (/32, /128);
// IPv4-mapped IPv6 addresses are read as IPv4.
func ParseKey(s string) (netip.Prefix, error) {
	in := s
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR block: %v", in, err)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return host(ap.Addr()), nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
		if len(s) > 5 && strings.EqualFold(s[:5], "ipv6:") {
			s = s[5:]
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR block", in)
	}
	return host(a), nil
}

func host(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen())
}

func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 0
	}
	return 1
}

// Set stores v under the block p (masked).
func (m *Map[V]) Set(p netip.Prefix, v V) {
	p = p.Masked()
	if _, ok := m.entries[p]; !ok {
		m.lengths[family(p)][p.Bits()]++
	}
	m.entries[p] = v
}

// Delete removes the block p.
func (m *Map[V]) Delete(p netip.Prefix) {
	p = p.Masked()
	if _, ok := m.entries[p]; ok {
		m.lengths[family(p)][p.Bits()]--
		delete(m.entries, p)
	}
}

// Lookup returns the value of the longest block that holds every address
// of p (for an address: the block it falls in).
func (m *Map[V]) Lookup(p netip.Prefix) (V, bool) {
	f := family(p)
	for bits := p.Bits(); bits >= 0; bits-- {
		if m.lengths[f][bits] == 0 {
			continue
		}
		q, _ := p.Addr().Prefix(bits)
		if v, ok := m.entries[q]; ok {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// Len returns the number of blocks.
func (m *Map[V]) Len() int { return len(m.entries) }

// Clone returns an independent copy (values are shared).
func (m *Map[V]) Clone() *Map[V] {
	c := &Map[V]{entries: make(map[netip.Prefix]V, len(m.entries)), lengths: m.lengths}
	for k, v := range m.entries {
		c.entries[k] = v
	}
	return c
}

// Entry is one block and its value.
type Entry[V any] struct {
	Prefix netip.Prefix
	Value  V
}

// Entries returns the blocks, IPv4 first, by address then length.
func (m *Map[V]) Entries() []Entry[V] {
	out := make([]Entry[V], 0, len(m.entries))
	for k, v := range m.entries {
		out = append(out, Entry[V]{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].Prefix, out[j].Prefix
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c < 0
		}
		return a.Bits() < b.Bits()
	})
	return out
}

// String renders a key as KumoMTA's maps list them: an address for a host
// block, CIDR notation otherwise.
func String(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
